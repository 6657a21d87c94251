"""Show the largest subfolders of a folder and the free space on its disk."""

import argparse
import os
import shutil
from dataclasses import dataclass
from typing import Iterator


@dataclass(order=True)
class Usage:
    size: int
    path: str


def folder_size(path: str) -> int:
    total = 0
    for entry in os.scandir(path):
        try:
            if entry.is_dir(follow_symlinks=False):
                total += folder_size(entry.path)
            elif entry.is_file(follow_symlinks=False):
                total += entry.stat(follow_symlinks=False).st_size
        except PermissionError:
            continue
    return total


def subfolders(path: str) -> Iterator[Usage]:
    for entry in os.scandir(path):
        if entry.is_dir(follow_symlinks=False):
            yield Usage(folder_size(entry.path), entry.path)


def human(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024:
            return f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", nargs="?", default=".")
    parser.add_argument("-n", "--top", type=int, default=10)
    args = parser.parse_args()
    for usage in sorted(subfolders(args.folder), reverse=True)[: args.top]:
        print(f"{human(usage.size):>10}  {usage.path}")
    print(f"free: {human(shutil.disk_usage(args.folder).free)}")


if __name__ == "__main__":
    main()
