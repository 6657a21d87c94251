"""Make a dated zip backup of a folder, e.g. Documents-2026-12-02.zip, in another folder.

A second backup on the same day gets the time too (Documents-2026-12-02-153000.zip), so
no backup is ever overwritten. The zip is written under a temporary name and renamed
when complete, so a failed run never leaves a half-written backup that looks whole.
"""

import argparse
import datetime as dt
import fnmatch
import sys
import zipfile
from pathlib import Path


def target_for(folder: Path, destination: Path, now: dt.datetime) -> Path:
    target = destination / f"{folder.name}-{now:%Y-%m-%d}.zip"
    n = 1
    while target.exists():
        target = destination / f"{folder.name}-{now:%Y-%m-%d-%H%M%S}{f'-{n}' if n > 1 else ''}.zip"
        n += 1
    return target


def main(argv=None):
    parser = argparse.ArgumentParser(description="Zip a folder into a backup named with today's date.")
    parser.add_argument("folder", type=Path, help="the folder to back up")
    parser.add_argument("destination", type=Path, help="the folder to put the zip in (made if missing)")
    parser.add_argument("--exclude", default="", help="leave out files and folders whose name matches this pattern, e.g. '*.tmp'")
    parser.add_argument("--dry-run", action="store_true", help="only print what would be backed up")
    args = parser.parse_args(argv)

    if not args.folder.is_dir():
        parser.error(f"{args.folder} is not a folder")
    folder = args.folder.resolve()
    destination = args.destination.resolve()
    if destination == folder or folder in destination.parents:
        parser.error("the destination must be outside the folder being backed up")
    files = [
        p for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
        and not (args.exclude and any(fnmatch.fnmatch(part, args.exclude) for part in p.relative_to(folder).parts))
    ]
    target = target_for(folder, destination, dt.datetime.now())
    total = sum(p.stat().st_size for p in files)
    if args.dry_run:
        print(f"would back up {len(files)} file(s), {total / 1e6:.1f} MB, to {target}")
        return 0
    destination.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.part")
    try:
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in files:
                archive.write(path, Path(folder.name) / path.relative_to(folder))
        partial.rename(target)
    finally:
        partial.unlink(missing_ok=True)
    print(f"backed up {len(files)} file(s), {total / 1e6:.1f} MB, to {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
