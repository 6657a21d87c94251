"""Show how much space each subfolder of a folder takes, largest first (like `du`, readable).

Sizes include everything below each subfolder; files directly in the folder are
summed on a line of their own. Links are not followed, so nothing is counted twice.
"""

import argparse
import os
import sys
from pathlib import Path


def tree_size(folder: Path) -> tuple[int, int]:
    """Total bytes and number of files below `folder`, not following links."""
    total = count = 0
    for root, _, files in os.walk(folder):
        for name in files:
            path = Path(root, name)
            if not path.is_symlink():
                total += path.stat().st_size
                count += 1
    return total, count


def human(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"


def main(argv=None):
    parser = argparse.ArgumentParser(description="Show the size of every subfolder, largest first.")
    parser.add_argument("folder", type=Path, help="folder whose subfolders to measure")
    parser.add_argument("--top", type=int, default=30, help="show at most this many subfolders (default %(default)s)")
    args = parser.parse_args(argv)

    if not args.folder.is_dir():
        parser.error(f"{args.folder} is not a folder")
    rows = []
    loose = loose_count = 0
    for entry in args.folder.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            size, count = tree_size(entry)
            rows.append((size, count, entry.name + "/"))
        elif entry.is_file() and not entry.is_symlink():
            loose += entry.stat().st_size
            loose_count += 1
    rows.sort(key=lambda row: (-row[0], row[2]))
    for size, count, name in rows[: args.top]:
        print(f"{human(size):>10}  {count:>7} file(s)  {name}")
    if loose_count:
        print(f"{human(loose):>10}  {loose_count:>7} file(s)  (files directly in {args.folder.name or args.folder})")
    total = sum(row[0] for row in rows) + loose
    print(f"{human(total):>10}  in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
