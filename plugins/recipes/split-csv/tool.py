"""Split a big CSV file into smaller CSV files of N rows each, every part starting with the header row.

Rows are read as CSV, so quoted fields with commas or line breaks stay whole. Parts
are named after the input (sales-001.csv, sales-002.csv ...) in the output folder;
existing parts are never overwritten, and each part is written under a temporary
name and renamed when complete.
"""

import argparse
import csv
import sys
from pathlib import Path


def main(argv=None):
    parser = argparse.ArgumentParser(description="Split a CSV file into parts of N rows, each with the header.")
    parser.add_argument("file", type=Path, help="the CSV file to split")
    parser.add_argument("output", type=Path, help="folder for the parts (made if missing)")
    parser.add_argument("--rows", type=int, default=1000, help="data rows per part, not counting the header (default %(default)s)")
    parser.add_argument("--dry-run", action="store_true", help="only print the parts that would be written")
    args = parser.parse_args(argv)

    if not args.file.is_file():
        parser.error(f"{args.file} is not a file")
    if args.rows < 1:
        parser.error("--rows must be 1 or more")
    with args.file.open(newline="", encoding="utf-8-sig") as source:
        sample = source.read(65536)
        source.seek(0)
        try:
            dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
        except csv.Error:
            dialect = csv.excel
        rows = csv.reader(source, dialect)
        header = next(rows, None)
        if header is None:
            parser.error(f"{args.file} is empty")
        parts = []
        for row in rows:
            if not parts or len(parts[-1]) == args.rows:
                parts.append([])
            parts[-1].append(row)
    digits = max(3, len(str(len(parts))))
    targets = [args.output / f"{args.file.stem}-{n:0{digits}d}.csv" for n in range(1, len(parts) + 1)]
    clash = next((t for t in targets if t.exists()), None)
    if clash:
        parser.error(f"{clash} already exists; remove the old parts or choose another folder")
    if args.dry_run:
        for target, part in zip(targets, parts):
            print(f"would write {target} ({len(part)} rows)")
        return 0
    args.output.mkdir(parents=True, exist_ok=True)
    for target, part in zip(targets, parts):
        partial = target.with_name(f".{target.name}.part")
        with partial.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out, dialect)
            writer.writerow(header)
            writer.writerows(part)
        partial.rename(target)
        print(f"wrote {target.name} ({len(part)} rows)")
    print(f"split {sum(map(len, parts))} rows of {args.file.name} into {len(parts)} part(s) in {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
