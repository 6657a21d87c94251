"""Move the files in a folder that were last modified more than N days ago into another folder (an archive).

Subfolder structure is kept under the destination (with --recursive), a name that is
already taken there gets -1, -2 ... rather than being overwritten, and symbolic
links are left alone. Try --dry-run first: it lists what would move.
"""

import argparse
import fnmatch
import shutil
import sys
import time
from pathlib import Path

DAY = 86400


def free_name(target: Path) -> Path:
    candidate, n = target, 1
    while candidate.exists():
        candidate, n = target.with_name(f"{target.stem}-{n}{target.suffix}"), n + 1
    return candidate


def main(argv=None):
    parser = argparse.ArgumentParser(description="Move files older than a number of days into another folder.")
    parser.add_argument("folder", type=Path, help="the folder to take old files from")
    parser.add_argument("destination", type=Path, help="the folder to move them into (made if missing)")
    parser.add_argument("--days", type=int, default=90, help="move files last modified more than this many days ago (default %(default)s)")
    parser.add_argument("--match", default="*", help="only files whose name matches this pattern, e.g. '*.pdf' (default %(default)s)")
    parser.add_argument("--recursive", action="store_true", help="also look in subfolders (their structure is kept)")
    parser.add_argument("--dry-run", action="store_true", help="only list the files that would move")
    args = parser.parse_args(argv)

    if not args.folder.is_dir():
        parser.error(f"{args.folder} is not a folder")
    if args.days < 0:
        parser.error("--days must be 0 or more")
    destination = args.destination.resolve()
    if destination == args.folder.resolve() or (args.recursive and args.folder.resolve() in destination.parents):
        parser.error("the destination must not be the folder itself (or, with --recursive, inside it)")
    cutoff = time.time() - args.days * DAY
    candidates = args.folder.rglob("*") if args.recursive else args.folder.iterdir()
    moved = 0
    for path in sorted(candidates):
        if path.is_symlink() or not path.is_file() or not fnmatch.fnmatch(path.name, args.match):
            continue
        if path.stat().st_mtime >= cutoff:
            continue
        relative = path.relative_to(args.folder)
        moved += 1
        if args.dry_run:
            print(f"would move {relative}")
            continue
        target = free_name(destination / relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(path), str(target))
        print(f"moved {relative} -> {target.relative_to(destination)}")
    print(f"{'would move' if args.dry_run else 'moved'} {moved} file(s) older than {args.days} day(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
