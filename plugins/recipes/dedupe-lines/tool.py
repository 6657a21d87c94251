"""Remove repeated lines from a text file, keeping the first of each and the original order.

Useful for mailing lists, word lists and logs. The file is rewritten through a
temporary file and one rename (or the result goes to --output), so a failure
never leaves it half-written.
"""

import argparse
import os
import sys
from pathlib import Path


def unique_lines(lines: list[str], ignore_case: bool, keep_blank: bool) -> list[str]:
    seen = set()
    kept = []
    for line in lines:
        body = line.rstrip("\r\n")
        key = body.strip().casefold() if ignore_case else body
        if not body.strip() and keep_blank:
            kept.append(line)
            continue
        if key in seen:
            continue
        seen.add(key)
        kept.append(line)
    return kept


def main(argv=None):
    parser = argparse.ArgumentParser(description="Remove duplicate lines from a text file, keeping the order.")
    parser.add_argument("file", type=Path, help="the text file to clean")
    parser.add_argument("--output", type=Path, help="write the result here instead of changing the file")
    parser.add_argument("--ignore-case", action="store_true", help="treat lines that differ only in case or surrounding spaces as the same")
    parser.add_argument("--keep-blank", action="store_true", help="keep every blank line")
    parser.add_argument("--dry-run", action="store_true", help="only print how many lines would be removed")
    args = parser.parse_args(argv)

    if not args.file.is_file():
        parser.error(f"{args.file} is not a file")
    try:
        text = args.file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        parser.error(f"{args.file} is not a UTF-8 text file")
    lines = text.splitlines(keepends=True)
    kept = unique_lines(lines, args.ignore_case, args.keep_blank)
    removed = len(lines) - len(kept)
    target = args.output or args.file
    if args.dry_run:
        print(f"would remove {removed} duplicate line(s) of {len(lines)}, writing {target}")
        return 0
    if removed == 0 and args.output is None:
        print(f"no duplicate lines in {args.file}")
        return 0
    partial = target.with_name(f".{target.name}.part")
    partial.write_text("".join(kept), encoding="utf-8", newline="")
    os.replace(partial, target)
    print(f"removed {removed} duplicate line(s) of {len(lines)}; wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
