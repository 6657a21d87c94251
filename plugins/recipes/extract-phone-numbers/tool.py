"""Pull phone numbers out of a text file, or out of all text files in a folder.

A phone number here is 7 to 15 digits, optionally starting with + or 00 and written
with spaces, dashes, dots or brackets between groups ("+44 20 7946 0958",
"(555) 123-4567"). Dates and long ID numbers without separators are not taken.
Numbers are printed once each (compared by their digits), or written to --output.
"""

import argparse
import re
import sys
from pathlib import Path

PHONE = re.compile(r"(?<![\w+])(?:\+|00)?\(?\d{1,4}\)?(?:[ .\-]?\(?\d{1,4}\)?){1,5}(?![\w])")
DATE = re.compile(r"^\d{1,4}[./-]\d{1,2}[./-]\d{1,4}$")


def text_files(root: Path):
    paths = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    for path in paths:
        data = path.read_bytes()
        if b"\0" not in data[:8192]:
            yield path, data.decode("utf-8", "replace")


def phone_numbers(text: str, min_digits: int):
    for match in PHONE.finditer(text):
        number = match.group(0).strip()
        digits = re.sub(r"\D", "", number)
        separated = number.startswith("+") or bool(re.search(r"[ .\-()]", number))
        if min_digits <= len(digits) <= 15 and separated and not DATE.match(number):
            yield number, digits


def main(argv=None):
    parser = argparse.ArgumentParser(description="Extract phone numbers from text files.")
    parser.add_argument("path", type=Path, help="a text file, or a folder whose text files are searched")
    parser.add_argument("--output", type=Path, help="write the numbers to this file, one per line, instead of printing them")
    parser.add_argument("--min-digits", type=int, default=7, help="ignore numbers with fewer digits than this (default %(default)s)")
    args = parser.parse_args(argv)

    if not args.path.exists():
        parser.error(f"{args.path} does not exist")
    found = {}
    for _, text in text_files(args.path):
        for number, digits in phone_numbers(text, args.min_digits):
            found.setdefault(digits, number)
    if args.output:
        partial = args.output.with_name(f".{args.output.name}.part")
        partial.write_text("".join(f"{n}\n" for n in found.values()), encoding="utf-8")
        partial.replace(args.output)
        print(f"wrote {len(found)} phone number(s) to {args.output}")
    else:
        for number in found.values():
            print(number)
        print(f"{len(found)} phone number(s) found", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
