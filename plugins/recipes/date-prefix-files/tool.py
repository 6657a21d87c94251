"""Put a date at the start of every file name in a folder: report.pdf -> 2026-12-02_report.pdf.

The date is when the file was last modified (or today's date with --today), written
as --format (default YYYY-MM-DD). Files whose name already starts with a date in that
form are left alone, so running it twice changes nothing; a new name that is taken
gets -1, -2 ... instead of overwriting.
"""

import argparse
import datetime as dt
import re
import sys
from pathlib import Path

DATED = re.compile(r"^\d{4}-?\d{2}-?\d{2}")


def free_name(target: Path) -> Path:
    candidate, n = target, 1
    while candidate.exists():
        candidate, n = target.with_name(f"{target.stem}-{n}{target.suffix}"), n + 1
    return candidate


def main(argv=None):
    parser = argparse.ArgumentParser(description="Prefix file names with a date.")
    parser.add_argument("folder", type=Path, help="the folder whose files get a date prefix")
    parser.add_argument("--format", default="%Y-%m-%d", help="strftime form of the date (default %(default)s)")
    parser.add_argument("--separator", default="_", help="what goes between the date and the old name (default %(default)s)")
    parser.add_argument("--today", action="store_true", help="use today's date instead of each file's modification date")
    parser.add_argument("--dry-run", action="store_true", help="only print the new names")
    args = parser.parse_args(argv)

    if not args.folder.is_dir():
        parser.error(f"{args.folder} is not a folder")
    sample = dt.datetime(2000, 1, 2).strftime(args.format)
    if "/" in sample or "/" in args.separator or sample == args.format:
        parser.error(f"--format {args.format!r} does not make a date usable in a file name (try %Y-%m-%d)")
    renamed = 0
    for path in sorted(p for p in args.folder.iterdir() if p.is_file() and not p.is_symlink()):
        when = dt.datetime.now() if args.today else dt.datetime.fromtimestamp(path.stat().st_mtime)
        prefix = when.strftime(args.format)
        if path.name.startswith(prefix) or DATED.match(path.name):
            continue
        target = free_name(path.with_name(f"{prefix}{args.separator}{path.name}"))
        renamed += 1
        print(f"{path.name} -> {target.name}" if args.dry_run else f"renamed {path.name} -> {target.name}")
        if not args.dry_run:
            path.rename(target)
    print(f"{'would rename' if args.dry_run else 'renamed'} {renamed} file(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
