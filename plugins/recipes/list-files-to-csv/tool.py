"""Make an inventory of every file under a folder as a CSV table: path, size, modified date, type.

Opens in any spreadsheet, for sorting, filtering or keeping a record of what a
drive or a backup holds. Without an output file the table is printed.
"""

import argparse
import csv
import os
import sys
from datetime import datetime
from pathlib import Path

COLUMNS = ["path", "name", "extension", "size_bytes", "modified"]


def rows(folder: Path, include_hidden: bool):
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if not include_hidden and any(part.startswith(".") for part in relative.parts):
            continue
        if path.is_file() and not path.is_symlink():
            info = path.stat()
            yield {
                "path": relative.as_posix(),
                "name": path.name,
                "extension": path.suffix.lower().lstrip("."),
                "size_bytes": info.st_size,
                "modified": datetime.fromtimestamp(info.st_mtime).isoformat(timespec="seconds"),
            }


def main(argv=None):
    parser = argparse.ArgumentParser(description="List every file in a folder as a CSV table (path, size, date).")
    parser.add_argument("folder", type=Path, help="folder to list, with its subfolders")
    parser.add_argument("output", type=Path, nargs="?", help="the CSV file to write (default: print it)")
    parser.add_argument("--include-hidden", action="store_true", help="also list hidden files and folders")
    args = parser.parse_args(argv)

    if not args.folder.is_dir():
        parser.error(f"{args.folder} is not a folder")
    skip = args.output.resolve() if args.output else None
    table = [row for row in rows(args.folder, args.include_hidden) if (args.folder / row["path"]).resolve() != skip]
    if args.output is None:
        writer = csv.DictWriter(sys.stdout, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(table)
        return 0
    partial = args.output.with_name(f".{args.output.name}.part")
    with partial.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(table)
    os.replace(partial, args.output)
    print(f"listed {len(table)} file(s) in {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
