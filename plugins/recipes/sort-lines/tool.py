"""Sort the lines of a text file: alphabetically, numerically or by length, optionally reversed or unique.

The file is rewritten through a temporary file and one rename (or the result goes to
--output), so a failure never leaves it half-written.
"""

import argparse
import os
import re
import sys
from pathlib import Path


def number_key(line: str):
    match = re.search(r"-?\d+(?:\.\d+)?", line)
    return (0, float(match.group(0)), line) if match else (1, 0.0, line)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Sort the lines of a text file.")
    parser.add_argument("file", type=Path, help="the text file to sort")
    parser.add_argument("--output", type=Path, help="write the sorted lines here instead of changing the file")
    parser.add_argument("--by", choices=["text", "number", "length"], default="text", help="sort alphabetically (ignoring case), by the first number in each line, or by length (default %(default)s)")
    parser.add_argument("--reverse", action="store_true", help="sort in descending order")
    parser.add_argument("--unique", action="store_true", help="also drop repeated lines")
    parser.add_argument("--dry-run", action="store_true", help="only print the first sorted lines")
    args = parser.parse_args(argv)

    if not args.file.is_file():
        parser.error(f"{args.file} is not a file")
    try:
        lines = args.file.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        parser.error(f"{args.file} is not a UTF-8 text file")
    if args.unique:
        lines = list(dict.fromkeys(lines))
    keys = {"text": lambda line: (line.casefold(), line), "number": number_key, "length": lambda line: (len(line), line)}
    lines.sort(key=keys[args.by], reverse=args.reverse)
    target = args.output or args.file
    if args.dry_run:
        print("\n".join(lines[:10]))
        print(f"would write {len(lines)} sorted line(s) to {target}")
        return 0
    partial = target.with_name(f".{target.name}.part")
    partial.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    os.replace(partial, target)
    print(f"sorted {len(lines)} line(s) into {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
