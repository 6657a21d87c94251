"""Convert an Excel workbook (.xlsx) to CSV: one CSV per worksheet, or just the sheet you name.

Files are written beside the workbook (or into --output-dir): report.xlsx becomes
report.csv for a single sheet, report-Sheet1.csv, report-Totals.csv ... for several.
Formulas are written as their last saved values. Existing files are never overwritten.
"""

import argparse
import csv
import re
import sys
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException


def main(argv=None):
    parser = argparse.ArgumentParser(description="Convert Excel worksheets to CSV files.")
    parser.add_argument("file", type=Path, help="the .xlsx workbook to convert")
    parser.add_argument("--sheet", help="only this worksheet (default: every sheet)")
    parser.add_argument("--output-dir", type=Path, help="folder for the CSV files (default: beside the workbook)")
    parser.add_argument("--delimiter", default=",", help="field separator, e.g. ';' for European Excel (default %(default)s)")
    args = parser.parse_args(argv)

    if not args.file.is_file():
        parser.error(f"{args.file} is not a file")
    if len(args.delimiter) != 1:
        parser.error("--delimiter must be one character")
    try:
        workbook = load_workbook(args.file, read_only=True, data_only=True)
    except (InvalidFileException, OSError, KeyError, ValueError) as e:
        parser.error(f"{args.file} is not a readable .xlsx workbook: {e}")
    names = workbook.sheetnames
    if args.sheet and args.sheet not in names:
        parser.error(f"no sheet named {args.sheet!r}; the workbook has: {', '.join(names)}")
    chosen = [args.sheet] if args.sheet else names
    folder = args.output_dir or args.file.parent
    single = len(chosen) == 1
    targets = {
        name: folder / (f"{args.file.stem}.csv" if single else f"{args.file.stem}-{re.sub(r'[^A-Za-z0-9._-]+', '_', name)}.csv")
        for name in chosen
    }
    clash = next((t for t in targets.values() if t.exists()), None)
    if clash:
        parser.error(f"{clash} already exists; move it or choose another --output-dir")
    folder.mkdir(parents=True, exist_ok=True)
    for name, target in targets.items():
        partial = target.with_name(f".{target.name}.part")
        count = 0
        with partial.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out, delimiter=args.delimiter)
            for row in workbook[name].iter_rows(values_only=True):
                writer.writerow(["" if value is None else value for value in row])
                count += 1
        partial.rename(target)
        print(f"wrote sheet {name!r} ({count} rows) to {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
