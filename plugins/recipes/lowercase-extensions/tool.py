"""Make file extensions lowercase: IMG_0001.JPG becomes IMG_0001.jpg.

Renames go through a temporary name, so they also work on case-insensitive disks
(macOS, Windows). If the lowercase name is already taken by another file, a -1,
-2 ... suffix is added instead of overwriting it.
"""

import argparse
import sys
from pathlib import Path


def taken(target: Path, source: Path) -> bool:
    """True when another file has the name (on a case-insensitive disk the name may be `source` itself)."""
    return target.exists() and not target.samefile(source)


def free_name(target: Path, source: Path) -> Path:
    n = 1
    candidate = target
    while taken(candidate, source):
        candidate = target.with_name(f"{target.stem}-{n}{target.suffix}")
        n += 1
    return candidate


def main(argv=None):
    parser = argparse.ArgumentParser(description="Make file extensions lowercase (.JPG -> .jpg).")
    parser.add_argument("folder", type=Path, help="folder whose files to rename")
    parser.add_argument("--recursive", action="store_true", help="also rename files in subfolders")
    parser.add_argument("--dry-run", action="store_true", help="only print what would be renamed")
    args = parser.parse_args(argv)

    if not args.folder.is_dir():
        parser.error(f"{args.folder} is not a folder")
    files = sorted(args.folder.rglob("*") if args.recursive else args.folder.iterdir())
    renamed = 0
    for path in files:
        if not path.is_file() or path.suffix == path.suffix.lower():
            continue
        target = free_name(path.with_suffix(path.suffix.lower()), path)
        print(f"{'would rename' if args.dry_run else 'renamed'} {path.name} -> {target.name}")
        if not args.dry_run:
            temporary = path.with_name(f".{path.name}.lowercase")
            path.rename(temporary)
            temporary.rename(target)
        renamed += 1
    print(f"{'would rename' if args.dry_run else 'renamed'} {renamed} file(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
