"""List the files changed most recently under a folder, newest first ("what did I work on this week?")."""

import argparse
import sys
import time
from datetime import datetime
from pathlib import Path


def main(argv=None):
    parser = argparse.ArgumentParser(description="List recently modified files, newest first.")
    parser.add_argument("folder", type=Path, help="folder to search (with its subfolders)")
    parser.add_argument("--days", type=int, default=7, help="files changed in the last DAYS days (default %(default)s)")
    parser.add_argument("--top", type=int, default=50, help="show at most this many files (default %(default)s)")
    parser.add_argument("--include-hidden", action="store_true", help="also list hidden files and folders")
    args = parser.parse_args(argv)

    if not args.folder.is_dir():
        parser.error(f"{args.folder} is not a folder")
    since = time.time() - args.days * 86400
    found = []
    for path in args.folder.rglob("*"):
        relative = path.relative_to(args.folder)
        if not args.include_hidden and any(part.startswith(".") for part in relative.parts):
            continue
        if path.is_file() and not path.is_symlink():
            modified = path.stat().st_mtime
            if modified >= since:
                found.append((modified, relative))
    found.sort(key=lambda item: (-item[0], str(item[1])))
    for modified, relative in found[: args.top]:
        print(f"{datetime.fromtimestamp(modified):%Y-%m-%d %H:%M}  {relative}")
    print(f"{len(found)} file(s) changed in the last {args.days} day(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
