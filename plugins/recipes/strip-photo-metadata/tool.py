"""Remove EXIF metadata (GPS location, camera, dates), XMP and comments from photos before sharing them.

Photos are rewritten in place, through a temporary file and one rename, so a
failure never leaves a half-written photo. JPEGs keep their original compression
settings; a photo that was stored rotated is turned upright first, since the
orientation tag goes with the rest of the metadata.
"""

import argparse
import os
import sys
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff"}
ORIENTATION = 0x0112


METADATA = ("exif", "xmp", "XML:com.adobe.xmp", "comment")


def has_metadata(image: Image.Image) -> bool:
    return bool(image.getexif()) or any(key in image.info for key in METADATA)


def strip(path: Path) -> None:
    partial = path.with_name(f".{path.name}.strip")
    try:
        with Image.open(path) as image:
            fmt = image.format
            rotated = image.getexif().get(ORIENTATION, 1) not in (1, None)
            if rotated:
                clean = ImageOps.exif_transpose(image)
                options = {"quality": 95} if fmt == "JPEG" else {}
            else:
                clean = image
                options = {"quality": "keep"} if fmt == "JPEG" else {}
            if fmt == "JPEG":
                options["comment"] = b""
            clean.save(partial, format=fmt, exif=b"", **options)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Remove EXIF metadata such as GPS location from photos.")
    parser.add_argument("folder", type=Path, help="folder of photos to clean")
    parser.add_argument("--recursive", action="store_true", help="also clean photos in subfolders")
    parser.add_argument("--dry-run", action="store_true", help="only print which photos have metadata")
    args = parser.parse_args(argv)

    if not args.folder.is_dir():
        parser.error(f"{args.folder} is not a folder")
    files = sorted(args.folder.rglob("*") if args.recursive else args.folder.iterdir())
    cleaned = failed = 0
    for path in files:
        if not path.is_file() or path.suffix.lower() not in PHOTO_SUFFIXES:
            continue
        try:
            with Image.open(path) as image:
                if not has_metadata(image):
                    continue
            if not args.dry_run:
                strip(path)
        except (UnidentifiedImageError, OSError) as e:
            print(f"skipped {path.name}: {e}")
            failed += 1
            continue
        print(f"{'would remove' if args.dry_run else 'removed'} metadata from {path.relative_to(args.folder)}")
        cleaned += 1
    print(f"{'would clean' if args.dry_run else 'cleaned'} {cleaned} photo(s); {failed} unreadable")
    return 0


if __name__ == "__main__":
    sys.exit(main())
