"""Sort files into year/month folders by date: when a photo was taken, else when the file was last changed.

Photos use their EXIF capture date (read with Pillow); other files use their
modification time. Only files directly in the folder move. Names taken in the
destination get a -1, -2 ... suffix, so nothing is overwritten.
"""

import argparse
import sys
from datetime import datetime
from pathlib import Path

from PIL import Image, UnidentifiedImageError
from PIL.ExifTags import IFD, Base

LAYOUTS = {"year": "%Y", "month": "%Y/%Y-%m", "day": "%Y/%Y-%m/%Y-%m-%d"}


def photo_date(path: Path) -> datetime | None:
    try:
        with Image.open(path) as image:
            exif = image.getexif()
    except (UnidentifiedImageError, OSError):
        return None
    value = exif.get_ifd(IFD.Exif).get(Base.DateTimeOriginal) or exif.get(Base.DateTime)
    try:
        return datetime.strptime(str(value).strip("\x00 "), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None


def file_date(path: Path) -> datetime:
    return photo_date(path) or datetime.fromtimestamp(path.stat().st_mtime)


def free_name(target: Path) -> Path:
    n = 1
    candidate = target
    while candidate.exists():
        candidate = target.with_name(f"{target.stem}-{n}{target.suffix}")
        n += 1
    return candidate


def main(argv=None):
    parser = argparse.ArgumentParser(description="Sort files into folders by date (photo taken, else last modified).")
    parser.add_argument("folder", type=Path, help="folder whose files to sort")
    parser.add_argument("--by", choices=sorted(LAYOUTS), default="month", help="folder per year, month (2024/2024-07) or day; default %(default)s")
    parser.add_argument("--dry-run", action="store_true", help="only print what would be moved")
    args = parser.parse_args(argv)

    if not args.folder.is_dir():
        parser.error(f"{args.folder} is not a folder")
    moved = 0
    for path in sorted(args.folder.iterdir()):
        if not path.is_file() or path.name.startswith("."):
            continue
        relative = file_date(path).strftime(LAYOUTS[args.by])
        target = free_name(args.folder / relative / path.name)
        print(f"{'would move' if args.dry_run else 'moved'} {path.name} -> {target.relative_to(args.folder)}")
        if not args.dry_run:
            target.parent.mkdir(parents=True, exist_ok=True)
            path.rename(target)
        moved += 1
    print(f"{'would move' if args.dry_run else 'moved'} {moved} file(s) into folders by {args.by}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
