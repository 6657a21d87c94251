"""Merge several CSV files into one, matching columns by their header names.

Inputs may be CSV files or folders (every *.csv inside, in name order). The
result has every column that appears in any file; a file without a column leaves
those cells empty. --add-source adds a column naming the file each row came from.
"""

import argparse
import csv
import os
import sys
from pathlib import Path

SOURCE_COLUMN = "source_file"


def csv_files(inputs: list[Path]) -> list[Path]:
    found = []
    for path in inputs:
        found.extend(sorted(path.glob("*.csv")) if path.is_dir() else [path])
    return found


def read(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8-sig") as f:
        sample = f.read(64 * 1024)
        f.seek(0)
        try:
            dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
        except csv.Error:
            dialect = csv.excel
        return list(csv.DictReader(f, dialect=dialect))


def main(argv=None):
    parser = argparse.ArgumentParser(description="Merge CSV files into one, matching columns by header.")
    parser.add_argument("inputs", type=Path, nargs="+", help="CSV files, or folders of CSV files, to merge")
    parser.add_argument("-o", "--output", type=Path, required=True, help="the merged CSV file to write")
    parser.add_argument("--add-source", action="store_true", help=f"add a '{SOURCE_COLUMN}' column naming each row's file")
    parser.add_argument("--dry-run", action="store_true", help="only print what would be merged")
    args = parser.parse_args(argv)

    files = [path for path in csv_files(args.inputs) if path.resolve() != args.output.resolve()]
    missing = [str(path) for path in files if not path.is_file()]
    if missing:
        parser.error(f"not found: {', '.join(missing)}")
    if not files:
        parser.error("no CSV files to merge")
    rows, columns = [], {}
    for path in files:
        part = read(path)
        print(f"{path.name}: {len(part)} row(s)")
        for row in part:
            row.pop(None, None)  # cells beyond the header
            if args.add_source:
                row[SOURCE_COLUMN] = path.name
            columns.update(dict.fromkeys(row))
            rows.append(row)
    if args.dry_run:
        print(f"would write {len(rows)} row(s) with {len(columns)} column(s) to {args.output}")
        return 0
    partial = args.output.with_name(f".{args.output.name}.part")
    with partial.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(columns))
        writer.writeheader()
        writer.writerows(rows)
    os.replace(partial, args.output)
    print(f"merged {len(files)} file(s): {len(rows)} row(s), {len(columns)} column(s) -> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
