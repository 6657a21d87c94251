"""Make small thumbnail copies of the images in a folder, in a 'thumbnails' subfolder.

Thumbnails keep the aspect ratio and fit in a --size x --size square. A thumbnail
that is newer than its image is kept, so running the tool again only does new work.
"""

import argparse
import sys
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp"}


def make_thumbnail(source: Path, target: Path, size: int) -> tuple[int, int]:
    with Image.open(source) as image:
        thumb = ImageOps.exif_transpose(image)
        thumb.thumbnail((size, size), Image.Resampling.LANCZOS)
        if thumb.mode not in ("RGB", "L"):
            thumb = thumb.convert("RGB")
        thumb.save(target, format="JPEG", quality=85)
        return thumb.size


def main(argv=None):
    parser = argparse.ArgumentParser(description="Make JPEG thumbnails of the images in a folder.")
    parser.add_argument("folder", type=Path, help="folder of images")
    parser.add_argument("--size", type=int, default=256, help="thumbnails fit in a SIZE x SIZE pixel square (default %(default)s)")
    parser.add_argument("--output", type=Path, help="folder for the thumbnails (default: FOLDER/thumbnails)")
    parser.add_argument("--dry-run", action="store_true", help="only print which thumbnails would be made")
    args = parser.parse_args(argv)

    if not args.folder.is_dir():
        parser.error(f"{args.folder} is not a folder")
    if args.size < 1:
        parser.error("--size must be at least 1")
    output = args.output or args.folder / "thumbnails"
    if output.resolve() == args.folder.resolve():
        parser.error("--output must be another folder: the originals would be overwritten")
    made = current = failed = 0
    for path in sorted(args.folder.iterdir()):
        if not path.is_file() or path.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        target = output / f"{path.stem}.jpg"
        if target.exists() and target.stat().st_mtime >= path.stat().st_mtime:
            current += 1
            continue
        if args.dry_run:
            print(f"would make {target}")
            made += 1
            continue
        output.mkdir(parents=True, exist_ok=True)
        try:
            width, height = make_thumbnail(path, target, args.size)
        except (UnidentifiedImageError, OSError) as e:
            print(f"skipped {path.name}: {e}")
            failed += 1
            continue
        print(f"made {target.name} ({width}x{height})")
        made += 1
    print(f"{'would make' if args.dry_run else 'made'} {made} thumbnail(s) in {output}; {current} already up to date; {failed} unreadable")
    return 0


if __name__ == "__main__":
    sys.exit(main())
