"""Combine the images in a folder into one PDF, one image per page, in name order.

Handy for scanned pages or receipts photographed with a phone. Photos are turned
upright using their EXIF orientation. An existing PDF is not overwritten.
"""

import argparse
import re
import sys
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp"}


def natural_key(path: Path):
    """Sort page2 before page10."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


def page(path: Path) -> Image.Image:
    with Image.open(path) as image:
        return ImageOps.exif_transpose(image).convert("RGB")


def main(argv=None):
    parser = argparse.ArgumentParser(description="Combine images into a single PDF, one page per image.")
    parser.add_argument("folder", type=Path, help="folder of images (pages in file-name order)")
    parser.add_argument("output", type=Path, help="the PDF file to create")
    parser.add_argument("--dry-run", action="store_true", help="only print the pages that would go into the PDF")
    args = parser.parse_args(argv)

    if not args.folder.is_dir():
        parser.error(f"{args.folder} is not a folder")
    if args.output.exists():
        parser.error(f"{args.output} already exists; choose another name")
    paths = sorted((p for p in args.folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES), key=natural_key)
    if not paths:
        parser.error(f"no images in {args.folder}")
    for number, path in enumerate(paths, start=1):
        print(f"page {number}: {path.name}")
    if args.dry_run:
        print(f"would write {len(paths)} page(s) to {args.output}")
        return 0
    try:
        pages = [page(path) for path in paths]
    except (UnidentifiedImageError, OSError) as e:
        print(f"error: cannot read an image: {e}", file=sys.stderr)
        return 1
    partial = args.output.with_name(args.output.name + ".part")
    pages[0].save(partial, format="PDF", save_all=True, append_images=pages[1:], resolution=150)
    partial.rename(args.output)
    print(f"wrote {len(pages)} page(s) to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
