"""Rename photos to the date and time they were taken, read from their EXIF data.

A photo without an EXIF date is left alone unless --use-file-time is given. Two
photos taken in the same second get -1, -2 ... suffixes; an existing file is never
overwritten, and running the tool again changes nothing.
"""

import argparse
import sys
from datetime import datetime
from pathlib import Path

from PIL import Image, UnidentifiedImageError
from PIL.ExifTags import IFD, Base

PHOTO_SUFFIXES = {".jpg", ".jpeg", ".jpe", ".tif", ".tiff", ".png", ".webp"}
EXIF_DATE_FORMAT = "%Y:%m:%d %H:%M:%S"


def taken_at(path: Path) -> datetime | None:
    """The EXIF capture date: DateTimeOriginal, else DateTimeDigitized, else DateTime."""
    try:
        with Image.open(path) as image:
            exif = image.getexif()
    except (UnidentifiedImageError, OSError):
        return None
    details = exif.get_ifd(IFD.Exif)
    for value in (details.get(Base.DateTimeOriginal), details.get(Base.DateTimeDigitized), exif.get(Base.DateTime)):
        try:
            return datetime.strptime(str(value).strip("\x00 "), EXIF_DATE_FORMAT)
        except ValueError:
            continue
    return None


def target_for(path: Path, stem: str) -> Path | None:
    """The first free name stem, stem-1, stem-2 ...; None when the photo already has one of them."""
    suffix = path.suffix.lower()
    for n in range(10_000):
        candidate = path.with_name(f"{stem}{'' if n == 0 else f'-{n}'}{suffix}")
        if candidate == path:
            return None
        if not candidate.exists():
            return candidate
    raise RuntimeError(f"no free name for {path}")


def main(argv=None):
    parser = argparse.ArgumentParser(description="Rename photos by the date they were taken (EXIF).")
    parser.add_argument("folder", type=Path, help="folder of photos to rename")
    parser.add_argument("--format", default="%Y-%m-%d_%H-%M-%S", help="date format for the new name (strftime), default %(default)s")
    parser.add_argument("--use-file-time", action="store_true", help="use the file's modification time when a photo has no EXIF date")
    parser.add_argument("--recursive", action="store_true", help="also rename photos in subfolders")
    parser.add_argument("--dry-run", action="store_true", help="only print what would be renamed")
    args = parser.parse_args(argv)

    if not args.folder.is_dir():
        parser.error(f"{args.folder} is not a folder")
    sample = datetime(2000, 1, 2, 3, 4, 5).strftime(args.format)
    if not sample.strip(". ") or "/" in sample or "\0" in sample:
        parser.error(f"--format {args.format!r} does not make a file name (it gives {sample!r})")
    files = sorted(args.folder.rglob("*") if args.recursive else args.folder.iterdir())
    renamed = skipped = undated = 0
    for path in files:
        if not path.is_file() or path.suffix.lower() not in PHOTO_SUFFIXES:
            continue
        when = taken_at(path)
        if when is None and args.use_file_time:
            when = datetime.fromtimestamp(path.stat().st_mtime)
        if when is None:
            undated += 1
            print(f"no date in {path.name}, left as is")
            continue
        target = target_for(path, when.strftime(args.format))
        if target is None:
            skipped += 1
            continue
        print(f"{'would rename' if args.dry_run else 'renamed'} {path.name} -> {target.name}")
        if not args.dry_run:
            path.rename(target)
        renamed += 1
    verb = "would rename" if args.dry_run else "renamed"
    print(f"{verb} {renamed} photo(s); {skipped} already named by date; {undated} without a date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
