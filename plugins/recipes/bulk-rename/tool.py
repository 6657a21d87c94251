"""Rename many files at once with a pattern or a find-and-replace on their names.

--pattern builds each new name from placeholders: {name} (the old name without
extension), {ext} (the extension with its dot), {n} (a counter, zero-padded to
--digits), {date} (modification date, YYYY-MM-DD) and {parent} (the folder's name).
--find/--replace instead edit the old name with a regular expression. A name that
is already taken gets a -1, -2 ... suffix, so no file is ever overwritten.
"""

import argparse
import re
import sys
from datetime import date
from pathlib import Path


def free_name(target: Path, source: Path) -> Path:
    n = 1
    candidate = target
    while candidate.exists() and candidate != source:
        candidate = target.with_name(f"{target.stem}-{n}{target.suffix}")
        n += 1
    return candidate


def new_name(path: Path, number: int, args) -> str:
    if args.pattern:
        return args.pattern.format(
            name=path.stem,
            ext=path.suffix,
            n=str(number).zfill(args.digits),
            date=date.fromtimestamp(path.stat().st_mtime).isoformat(),
            parent=path.parent.name,
        )
    return re.sub(args.find, args.replace, path.name)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Rename files with a pattern like 'holiday-{n}{ext}' or a find-and-replace.")
    parser.add_argument("folder", type=Path, help="folder whose files to rename")
    parser.add_argument("--pattern", help="new name, with {name} {ext} {n} {date} {parent}, e.g. 'holiday-{n}{ext}'")
    parser.add_argument("--find", help="regular expression to find in the old names")
    parser.add_argument("--replace", default="", help="text that replaces --find (may use \\1 for groups)")
    parser.add_argument("--match", default="*", help="only rename files matching this glob, e.g. '*.jpg' (default all)")
    parser.add_argument("--start", type=int, default=1, help="first value of {n} (default %(default)s)")
    parser.add_argument("--digits", type=int, default=3, help="zero-pad {n} to this many digits (default %(default)s)")
    parser.add_argument("--dry-run", action="store_true", help="only print what would be renamed")
    args = parser.parse_args(argv)

    if not args.folder.is_dir():
        parser.error(f"{args.folder} is not a folder")
    if bool(args.pattern) == bool(args.find):
        parser.error("give either --pattern or --find (with --replace)")
    try:
        if args.find:
            re.compile(args.find)
    except re.error as e:
        parser.error(f"--find is not a valid regular expression: {e}")
    files = sorted(p for p in args.folder.glob(args.match) if p.is_file() and not p.name.startswith("."))
    renamed = 0
    for number, path in enumerate(files, start=args.start):
        try:
            name = new_name(path, number, args)
        except (KeyError, IndexError, ValueError) as e:
            parser.error(f"bad --pattern {args.pattern!r}: unknown placeholder {e}; use {{name}} {{ext}} {{n}} {{date}} {{parent}}")
        if not name or "/" in name or name in (".", ".."):
            print(f"skipped {path.name}: the new name {name!r} is not a valid file name")
            continue
        target = free_name(path.with_name(name), path)
        if target == path:
            continue
        print(f"{'would rename' if args.dry_run else 'renamed'} {path.name} -> {target.name}")
        if not args.dry_run:
            path.rename(target)
        renamed += 1
    print(f"{'would rename' if args.dry_run else 'renamed'} {renamed} of {len(files)} file(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
