"""Convert a CSV file to JSON: a list of objects keyed by the header row.

The delimiter (comma, semicolon, tab, pipe) is detected. Values stay text unless
--infer-types is given, so zip codes like 00501 survive. Without an output file
the JSON is printed; with --save it is written beside the CSV as NAME.json.
"""

import argparse
import csv
import json
import os
import re
import sys
from pathlib import Path


def detect_dialect(sample: str):
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        return csv.excel


def infer(value: str):
    """An int or float when the text is plainly one (no leading zeros, so codes like 00501 stay text)."""
    if re.fullmatch(r"-?(0|[1-9][0-9]*)", value):
        return int(value)
    if re.fullmatch(r"-?(0|[1-9][0-9]*)\.[0-9]+", value):
        return float(value)
    return value


def read_rows(path: Path, infer_types: bool) -> list[dict]:
    with path.open(newline="", encoding="utf-8-sig") as f:
        dialect = detect_dialect(f.read(64 * 1024))
        f.seek(0)
        rows = list(csv.DictReader(f, dialect=dialect))
    if infer_types:
        rows = [{key: infer(value) if isinstance(value, str) else value for key, value in row.items()} for row in rows]
    return rows


def write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.part")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Convert a CSV file to JSON (a list of objects).")
    parser.add_argument("input", type=Path, help="the CSV file to read")
    parser.add_argument("output", type=Path, nargs="?", help="the JSON file to write (default: print it)")
    parser.add_argument("--save", action="store_true", help="without OUTPUT, write NAME.json beside the CSV instead of printing")
    parser.add_argument("--infer-types", action="store_true", help="turn numbers into JSON numbers instead of text")
    parser.add_argument("--indent", type=int, default=2, help="spaces of indentation (default %(default)s)")
    parser.add_argument("--dry-run", action="store_true", help="only report the rows that would be written, writing nothing")
    args = parser.parse_args(argv)

    if not args.input.is_file():
        parser.error(f"{args.input} is not a file")
    try:
        rows = read_rows(args.input, args.infer_types)
    except (UnicodeDecodeError, csv.Error) as e:
        parser.error(f"{args.input} is not a readable CSV file: {e}")
    text = json.dumps(rows, indent=args.indent, ensure_ascii=False) + "\n"
    if args.output is None and args.save:
        args.output = args.input.with_suffix(".json")
        if args.output.exists():
            parser.error(f"{args.output} already exists; pass OUTPUT to choose another name")
    if args.output is None:
        sys.stdout.write(text)
        return 0
    if args.dry_run:
        print(f"would write {len(rows)} row(s) to {args.output}")
        return 0
    write_atomically(args.output, text)
    print(f"wrote {len(rows)} row(s) to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
