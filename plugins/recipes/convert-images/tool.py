"""Convert images to another format (PNG, JPEG, WebP, GIF, BMP, TIFF), keeping the originals.

Each converted copy is written next to its original (or into --output) with the
new extension; an existing file is never overwritten. Transparent images become
JPEG on a white background, since JPEG has no transparency.
"""

import argparse
import sys
from pathlib import Path

from PIL import Image, UnidentifiedImageError

FORMATS = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG", "webp": "WEBP", "gif": "GIF", "bmp": "BMP", "tiff": "TIFF"}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp"}


def flatten(image: Image.Image) -> Image.Image:
    """An RGB image; transparent pixels turn white."""
    if image.mode in ("RGBA", "LA", "P"):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, "white")
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def convert(source: Path, target: Path, fmt: str, quality: int) -> None:
    with Image.open(source) as image:
        out = flatten(image) if fmt in ("JPEG", "BMP") else image
        options = {"quality": quality} if fmt in ("JPEG", "WEBP") else {}
        out.save(target, format=fmt, **options)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Convert images to another format, e.g. PNG to JPG or WebP to PNG.")
    parser.add_argument("folder", type=Path, help="folder of images to convert")
    parser.add_argument("--to", required=True, choices=sorted(FORMATS), help="target format")
    parser.add_argument("--output", type=Path, help="folder for the converted images (default: next to the originals)")
    parser.add_argument("--quality", type=int, default=90, help="JPEG/WebP quality 1-100 (default %(default)s)")
    parser.add_argument("--dry-run", action="store_true", help="only print what would be converted")
    args = parser.parse_args(argv)

    if not args.folder.is_dir():
        parser.error(f"{args.folder} is not a folder")
    fmt = FORMATS[args.to]
    suffix = "." + ("jpg" if fmt == "JPEG" else args.to)
    output = args.output or args.folder
    converted = skipped = 0
    for path in sorted(args.folder.iterdir()):
        if not path.is_file() or path.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        target = output / (path.stem + suffix)
        if Image.registered_extensions().get(path.suffix.lower()) == fmt:
            continue
        if target.exists():
            print(f"skipped {path.name}: {target.name} already exists")
            skipped += 1
            continue
        print(f"{'would convert' if args.dry_run else 'converted'} {path.name} -> {target.name}")
        if args.dry_run:
            converted += 1
            continue
        output.mkdir(parents=True, exist_ok=True)
        try:
            convert(path, target, fmt, args.quality)
            converted += 1
        except (UnidentifiedImageError, OSError) as e:
            target.unlink(missing_ok=True)
            print(f"skipped {path.name}: {e}")
            skipped += 1
    print(f"{'would convert' if args.dry_run else 'converted'} {converted} image(s) to {args.to}; skipped {skipped}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
