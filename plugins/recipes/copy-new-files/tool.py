"""Back up a folder: copy the files that are new or changed to another folder, deleting nothing.

A file is copied when the backup lacks it or the original is newer (by modification
time) and differs in size or date. A backup copy that is newer than the original is
left alone and reported, never overwritten. Copies keep their dates and are written
to a temporary name first, so an interrupted run leaves no half-copied file.
"""

import argparse
import os
import shutil
import sys
from pathlib import Path


def plan(source: Path, target: Path) -> tuple[list[Path], list[Path]]:
    """Relative paths to copy, and relative paths whose backup is newer than the original."""
    copy, conflicts = [], []
    for path in sorted(source.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        relative = path.relative_to(source)
        backup = target / relative
        if not backup.exists():
            copy.append(relative)
            continue
        ours, theirs = path.stat(), backup.stat()
        if ours.st_size == theirs.st_size and int(ours.st_mtime) == int(theirs.st_mtime):
            continue
        (copy if ours.st_mtime > theirs.st_mtime else conflicts).append(relative)
    return copy, conflicts


def copy_file(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.copying")
    try:
        shutil.copy2(source, partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Copy new and changed files from one folder to a backup folder.")
    parser.add_argument("source", type=Path, help="the folder to back up")
    parser.add_argument("destination", type=Path, help="the backup folder (created if missing)")
    parser.add_argument("--dry-run", action="store_true", help="only print what would be copied")
    args = parser.parse_args(argv)

    if not args.source.is_dir():
        parser.error(f"{args.source} is not a folder")
    if args.destination.resolve().is_relative_to(args.source.resolve()):
        parser.error("the backup folder must not be inside the folder being backed up")
    copy, conflicts = plan(args.source, args.destination)
    for relative in copy:
        print(f"{'would copy' if args.dry_run else 'copied'} {relative.as_posix()}")
        if not args.dry_run:
            copy_file(args.source / relative, args.destination / relative)
    for relative in conflicts:
        print(f"kept {relative.as_posix()}: the backup copy is newer than the original")
    verb = "would copy" if args.dry_run else "copied"
    print(f"{verb} {len(copy)} file(s) to {args.destination}; {len(conflicts)} newer in the backup, left alone")
    return 0


if __name__ == "__main__":
    sys.exit(main())
