"""Delete empty folders under a folder, deepest first, so nested empty folders all go.

The folder itself is kept. A folder holding only system clutter (.DS_Store,
Thumbs.db, desktop.ini) counts as empty only with --remove-junk, which deletes
those files too.
"""

import argparse
import os
import sys
from pathlib import Path

JUNK = {".DS_Store", "Thumbs.db", "desktop.ini"}


def main(argv=None):
    parser = argparse.ArgumentParser(description="Delete empty folders (and folders that only held empty folders).")
    parser.add_argument("folder", type=Path, help="folder to clean up (it is kept itself)")
    parser.add_argument("--remove-junk", action="store_true", help="treat folders holding only .DS_Store/Thumbs.db/desktop.ini as empty")
    parser.add_argument("--dry-run", action="store_true", help="only print which folders would be deleted")
    args = parser.parse_args(argv)

    if not args.folder.is_dir():
        parser.error(f"{args.folder} is not a folder")
    removed = set()
    for root, dirs, files in os.walk(args.folder, topdown=False):
        here = Path(root)
        if here == args.folder:
            continue
        left_files = [f for f in files if not (args.remove_junk and f in JUNK)]
        left_dirs = [d for d in dirs if here / d not in removed]
        if left_files or left_dirs:
            continue
        print(f"{'would delete' if args.dry_run else 'deleted'} {here.relative_to(args.folder)}/")
        if not args.dry_run:
            for name in files:
                (here / name).unlink()
            here.rmdir()
        removed.add(here)
    print(f"{'would delete' if args.dry_run else 'deleted'} {len(removed)} empty folder(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
