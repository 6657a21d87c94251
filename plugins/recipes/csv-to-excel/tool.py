"""Convert a CSV file to an Excel workbook (.xlsx), numbers stored as numbers, the header row bold.

By default the workbook is written beside the CSV with the same name (sales.csv ->
sales.xlsx); an existing file is never overwritten. The delimiter (comma, semicolon,
tab) is detected. The workbook is written under a temporary name and renamed.
"""

import argparse
import csv
import re
import sys
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font

INTEGER = re.compile(r"-?(?:0|[1-9]\d*)")  # "007" stays text: leading zeros mean an ID, not a number
DECIMAL = re.compile(r"-?(?:0|[1-9]\d*)?\.\d+(?:[eE][-+]?\d+)?")


def cell(text: str):
    value = text.strip()
    if INTEGER.fullmatch(value):
        return int(value)
    if DECIMAL.fullmatch(value):
        return float(value)
    return text


def main(argv=None):
    parser = argparse.ArgumentParser(description="Convert a CSV file to an Excel .xlsx workbook.")
    parser.add_argument("file", type=Path, help="the CSV file to convert")
    parser.add_argument("--output", type=Path, help="the workbook to write (default: the CSV's name with .xlsx, beside it)")
    parser.add_argument("--sheet", default="Sheet1", help="name of the worksheet (default %(default)s)")
    parser.add_argument("--text-only", action="store_true", help="keep every cell as text (no number conversion, so leading zeros stay)")
    args = parser.parse_args(argv)

    if not args.file.is_file():
        parser.error(f"{args.file} is not a file")
    output = args.output or args.file.with_suffix(".xlsx")
    if output.exists():
        parser.error(f"{output} already exists; choose another --output")
    if not 1 <= len(args.sheet) <= 31 or re.search(r"[\[\]:*?/\\]", args.sheet):
        parser.error(f"--sheet {args.sheet!r} is not a valid sheet name (1-31 characters, none of []:*?/\\)")
    with args.file.open(newline="", encoding="utf-8-sig") as source:
        sample = source.read(65536)
        source.seek(0)
        try:
            dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
        except csv.Error:
            dialect = csv.excel
        rows = list(csv.reader(source, dialect))
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = args.sheet
    for number, row in enumerate(rows):
        sheet.append(row if number == 0 or args.text_only else [cell(value) for value in row])
    for header in sheet[1] if rows else []:
        header.font = Font(bold=True)
    partial = output.with_name(f".{output.name}.part")
    try:
        workbook.save(partial)
        partial.rename(output)
    finally:
        partial.unlink(missing_ok=True)
    print(f"wrote {max(0, len(rows) - 1)} row(s) to {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
