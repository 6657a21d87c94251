"""Zip every subfolder of a folder into its own archive: Holiday/ becomes Holiday.zip next to it.

An existing zip is left alone, so running again only zips new folders. Each zip
is written to a temporary name and renamed when complete, so a failure never
leaves a broken archive behind. The folders themselves are not changed.
"""

import argparse
import os
import sys
import zipfile
from pathlib import Path


def zip_folder(folder: Path, target: Path) -> int:
    partial = target.with_name(f".{target.name}.part")
    count = 0
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(folder.rglob("*")):
                if path.is_file() and not path.is_symlink():
                    archive.write(path, path.relative_to(folder.parent))
                    count += 1
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return count


def main(argv=None):
    parser = argparse.ArgumentParser(description="Create one .zip archive per subfolder.")
    parser.add_argument("folder", type=Path, help="folder whose subfolders to zip")
    parser.add_argument("--dry-run", action="store_true", help="only print which zips would be made")
    args = parser.parse_args(argv)

    if not args.folder.is_dir():
        parser.error(f"{args.folder} is not a folder")
    made = existing = 0
    for sub in sorted(p for p in args.folder.iterdir() if p.is_dir() and not p.is_symlink() and not p.name.startswith(".")):
        target = args.folder / f"{sub.name}.zip"
        if target.exists():
            existing += 1
            print(f"kept {target.name} (already exists)")
            continue
        if args.dry_run:
            print(f"would zip {sub.name}/ -> {target.name}")
        else:
            count = zip_folder(sub, target)
            print(f"zipped {sub.name}/ -> {target.name} ({count} file(s))")
        made += 1
    print(f"{'would make' if args.dry_run else 'made'} {made} zip(s); {existing} already existed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
