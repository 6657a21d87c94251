"""Pull every e-mail address out of a text file, or out of all text files in a folder.

Addresses are printed once each, in the order first seen (or written to --output, one
per line, ready for a mailing list). Binary files are skipped; nothing is changed.
"""

import argparse
import re
import sys
from pathlib import Path

EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![\w-])")


def text_files(root: Path):
    paths = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    for path in paths:
        data = path.read_bytes()
        if b"\0" not in data[:8192]:
            yield path, data.decode("utf-8", "replace")


def main(argv=None):
    parser = argparse.ArgumentParser(description="Extract e-mail addresses from text files.")
    parser.add_argument("path", type=Path, help="a text file, or a folder whose text files are searched")
    parser.add_argument("--output", type=Path, help="write the addresses to this file, one per line, instead of printing them")
    parser.add_argument("--ignore-case", action="store_true", help="treat addresses that differ only in case as the same")
    args = parser.parse_args(argv)

    if not args.path.exists():
        parser.error(f"{args.path} does not exist")
    found = {}
    for path, text in text_files(args.path):
        for address in EMAIL.findall(text):
            found.setdefault(address.lower() if args.ignore_case else address, path)
    if args.output:
        partial = args.output.with_name(f".{args.output.name}.part")
        partial.write_text("".join(f"{a}\n" for a in found), encoding="utf-8")
        partial.replace(args.output)
        print(f"wrote {len(found)} address(es) to {args.output}")
    else:
        for address in found:
            print(address)
        print(f"{len(found)} address(es) found", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
