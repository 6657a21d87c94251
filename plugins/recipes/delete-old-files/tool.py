"""Delete the files in a folder that were last modified more than N days ago (e.g. old downloads or logs).

Only files go, never folders; symbolic links are left alone. By default only the
folder's own files are considered; --recursive includes its subfolders. --match
narrows it to names like '*.log'. Try --dry-run first: it lists what would go.
"""

import argparse
import fnmatch
import sys
import time
from pathlib import Path

DAY = 86400


def old_files(folder: Path, days: float, pattern: str, recursive: bool):
    cutoff = time.time() - days * DAY
    candidates = folder.rglob("*") if recursive else folder.iterdir()
    for path in sorted(candidates):
        if path.is_symlink() or not path.is_file() or not fnmatch.fnmatch(path.name, pattern):
            continue
        if path.stat().st_mtime < cutoff:
            yield path


def main(argv=None):
    parser = argparse.ArgumentParser(description="Delete files older than a number of days.")
    parser.add_argument("folder", type=Path, help="the folder to clean up")
    parser.add_argument("--days", type=int, default=30, help="delete files last modified more than this many days ago (default %(default)s)")
    parser.add_argument("--match", default="*", help="only files whose name matches this pattern, e.g. '*.log' (default %(default)s)")
    parser.add_argument("--recursive", action="store_true", help="also look in subfolders")
    parser.add_argument("--dry-run", action="store_true", help="only list the files that would be deleted")
    args = parser.parse_args(argv)

    if not args.folder.is_dir():
        parser.error(f"{args.folder} is not a folder")
    if args.days < 0:
        parser.error("--days must be 0 or more")
    count = size = 0
    for path in old_files(args.folder, args.days, args.match, args.recursive):
        count += 1
        size += path.stat().st_size
        print(f"{'would delete' if args.dry_run else 'deleted'} {path.relative_to(args.folder)}")
        if not args.dry_run:
            path.unlink()
    verb = "would delete" if args.dry_run else "deleted"
    print(f"{verb} {count} file(s) older than {args.days} day(s), {size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
