"""Move every file from the subfolders of a folder up into the folder itself, then remove the subfolders left empty.

Files with the same name get a -1, -2 ... suffix instead of overwriting each other.
Subfolders that still hold something (e.g. hidden files with --skip-hidden) are kept.
"""

import argparse
import os
import sys
from pathlib import Path


def free_name(target: Path, planned: set[Path]) -> Path:
    """The first of name, name-1, name-2 ... that neither exists nor was handed out (a dry run moves nothing)."""
    n = 1
    candidate = target
    while candidate.exists() or candidate in planned:
        candidate = target.with_name(f"{target.stem}-{n}{target.suffix}")
        n += 1
    return candidate


def main(argv=None):
    parser = argparse.ArgumentParser(description="Flatten a folder: move all files out of its subfolders into it.")
    parser.add_argument("folder", type=Path, help="folder to flatten")
    parser.add_argument("--skip-hidden", action="store_true", help="leave hidden files (names starting with '.') where they are")
    parser.add_argument("--dry-run", action="store_true", help="only print what would be moved")
    args = parser.parse_args(argv)

    if not args.folder.is_dir():
        parser.error(f"{args.folder} is not a folder")
    moved = 0
    planned = set()
    for path in sorted(args.folder.rglob("*")):
        if path.parent == args.folder or not path.is_file() or path.is_symlink():
            continue
        if args.skip_hidden and path.name.startswith("."):
            continue
        target = free_name(args.folder / path.name, planned)
        planned.add(target)
        print(f"{'would move' if args.dry_run else 'moved'} {path.relative_to(args.folder)} -> {target.name}")
        if not args.dry_run:
            path.rename(target)
        moved += 1
    removed = 0
    if not args.dry_run:
        for root, _, _ in os.walk(args.folder, topdown=False):
            here = Path(root)
            if here != args.folder and not any(here.iterdir()):
                here.rmdir()
                removed += 1
    print(f"{'would move' if args.dry_run else 'moved'} {moved} file(s) up; removed {removed} emptied folder(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
