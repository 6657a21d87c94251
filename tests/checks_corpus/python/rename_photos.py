"""Rename photos in a folder to their modification date, e.g. 2024-05-01_12-30-05.jpg."""

import argparse
import datetime as dt
from pathlib import Path

PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".heic"}


def new_name(photo: Path) -> str:
    taken = dt.datetime.fromtimestamp(photo.stat().st_mtime)
    return taken.strftime("%Y-%m-%d_%H-%M-%S") + photo.suffix.lower()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", type=Path, help="folder with the photos")
    parser.add_argument("--dry-run", action="store_true", help="only print what would change")
    args = parser.parse_args(argv)
    for photo in sorted(args.folder.iterdir()):
        if photo.suffix.lower() not in PHOTO_SUFFIXES:
            continue
        target = photo.with_name(new_name(photo))
        print(f"{photo.name} -> {target.name}")
        if not args.dry_run and not target.exists():
            photo.rename(target)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
