"""Convert JSON (a list of objects, or JSON Lines) to a CSV file that opens in any spreadsheet.

The columns are every key that appears, in first-seen order; nested lists and
objects are written as JSON text in their cell. Without an output file the CSV
is printed.
"""

import argparse
import csv
import io
import json
import os
import sys
from pathlib import Path


def load_records(text: str) -> list[dict]:
    """A JSON array of objects, an object holding one such array, or JSON Lines."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = [json.loads(line) for line in text.splitlines() if line.strip()]
    if isinstance(data, dict):
        lists = [value for value in data.values() if isinstance(value, list)]
        data = lists[0] if len(lists) == 1 else [data]
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise ValueError("expected a list of objects (records)")
    return data


def cell(value):
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def to_csv(records: list[dict]) -> str:
    columns = list(dict.fromkeys(key for record in records for key in record))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow({key: cell(value) for key, value in record.items()})
    return out.getvalue()


def main(argv=None):
    parser = argparse.ArgumentParser(description="Convert JSON records to a CSV file.")
    parser.add_argument("input", type=Path, help="the JSON or JSON Lines file to read")
    parser.add_argument("output", type=Path, nargs="?", help="the CSV file to write (default: print it)")
    parser.add_argument("--dry-run", action="store_true", help="only report the rows that would be written, writing nothing")
    args = parser.parse_args(argv)

    if not args.input.is_file():
        parser.error(f"{args.input} is not a file")
    try:
        records = load_records(args.input.read_text(encoding="utf-8-sig"))
    except (ValueError, UnicodeDecodeError) as e:
        parser.error(f"{args.input} is not usable JSON: {e}")
    text = to_csv(records)
    if args.output is None:
        sys.stdout.write(text)
        return 0
    if args.dry_run:
        print(f"would write {len(records)} row(s) to {args.output}")
        return 0
    partial = args.output.with_name(f".{args.output.name}.part")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, args.output)
    print(f"wrote {len(records)} row(s) to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
