"""Find files with identical content anywhere under a folder, and optionally delete the extra copies.

Files are grouped by size first and only same-size files are hashed (SHA-256),
so large folders are fast. With --delete the first copy of each group (by path)
is kept and the others are removed; without it nothing is changed.
"""

import argparse
import hashlib
import sys
from collections import defaultdict
from pathlib import Path

CHUNK = 1 << 20


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def duplicate_groups(folder: Path, min_size: int) -> list[list[Path]]:
    """Lists of paths with identical content, each sorted, largest files first."""
    by_size = defaultdict(list)
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink() and path.stat().st_size >= min_size:
            by_size[path.stat().st_size].append(path)
    groups = []
    for _size, paths in sorted(by_size.items(), reverse=True):
        if len(paths) < 2:
            continue
        by_hash = defaultdict(list)
        for path in paths:
            by_hash[sha256(path)].append(path)
        groups.extend(sorted(same) for same in by_hash.values() if len(same) > 1)
    return groups


def human(size: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"


def main(argv=None):
    parser = argparse.ArgumentParser(description="Find duplicate files (same content) in a folder and its subfolders.")
    parser.add_argument("folder", type=Path, help="folder to search for duplicates")
    parser.add_argument("--min-size", type=int, default=1, help="ignore files smaller than this many bytes (default %(default)s: skip empty files)")
    parser.add_argument("--delete", action="store_true", help="delete every copy but the first of each group")
    parser.add_argument("--dry-run", action="store_true", help="with --delete, only print what would be deleted")
    args = parser.parse_args(argv)

    if not args.folder.is_dir():
        parser.error(f"{args.folder} is not a folder")
    groups = duplicate_groups(args.folder, args.min_size)
    wasted = 0
    for keep, *copies in groups:
        size = keep.stat().st_size
        wasted += size * len(copies)
        print(f"{len(copies) + 1} identical files of {human(size)}:")
        print(f"  keep   {keep.relative_to(args.folder)}")
        for copy in copies:
            action = "delete" if args.delete else "copy  "
            print(f"  {action} {copy.relative_to(args.folder)}")
            if args.delete and not args.dry_run:
                copy.unlink()
    if args.delete:
        verb = "would free" if args.dry_run else "freed"
    else:
        verb = "duplicates take"
    print(f"{len(groups)} group(s) of duplicates; {verb} {human(wasted)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
