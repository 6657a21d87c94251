"""Make smaller copies of the images in a folder: no wider than --width, no taller than
--height, no side longer than --max-size pixels (1600 when none of the three is given).

The originals are never changed: copies go to --output (default: a 'resized'
folder inside the image folder). Images are turned upright using their EXIF
orientation, never enlarged, and keep their format and EXIF data.
"""

import argparse
import sys
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp"}


def resize(source: Path, target: Path, box: tuple[int, int], quality: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """Write a copy that fits in box (width, height); return the old and new (width, height)."""
    with Image.open(source) as image:
        exif = image.getexif()
        upright = ImageOps.exif_transpose(image)
        before = upright.size
        upright.thumbnail(box, Image.Resampling.LANCZOS)
        if exif:
            exif[0x0112] = 1  # the pixels are upright now
        options = {"exif": exif.tobytes()} if exif else {}
        if image.format == "JPEG":
            options["quality"] = quality
        upright.save(target, format=image.format, **options)
        return before, upright.size


def main(argv=None):
    parser = argparse.ArgumentParser(description="Resize images to fit a width, a height or a longest side in pixels.")
    parser.add_argument("folder", type=Path, help="folder of images to resize")
    parser.add_argument("--width", type=int, help="widest an image may be, in pixels")
    parser.add_argument("--height", type=int, help="tallest an image may be, in pixels")
    parser.add_argument("--max-size", type=int, help="longest side in pixels (default 1600 when neither --width nor --height is given)")
    parser.add_argument("--output", type=Path, help="folder for the resized copies (default: FOLDER/resized)")
    parser.add_argument("--quality", type=int, default=90, help="JPEG quality 1-95 (default %(default)s)")
    parser.add_argument("--dry-run", action="store_true", help="only print what would be resized")
    args = parser.parse_args(argv)

    if not args.folder.is_dir():
        parser.error(f"{args.folder} is not a folder")
    limits = {"--width": args.width, "--height": args.height, "--max-size": args.max_size}
    for flag, value in limits.items():
        if value is not None and value < 1:
            parser.error(f"{flag} must be at least 1")
    if not any(limits.values()):
        args.max_size = 1600
    side = args.max_size or 10**9
    box = (min(args.width or side, side), min(args.height or side, side))
    output = args.output or args.folder / "resized"
    if output.resolve() == args.folder.resolve():
        parser.error("--output must be another folder: the originals would be overwritten")
    done = failed = 0
    for path in sorted(args.folder.iterdir()):
        if not path.is_file() or path.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        target = output / path.name
        if args.dry_run:
            print(f"would resize {path.name} -> {target}")
            done += 1
            continue
        output.mkdir(parents=True, exist_ok=True)
        try:
            before, after = resize(path, target, box, args.quality)
        except (UnidentifiedImageError, OSError) as e:
            print(f"skipped {path.name}: {e}")
            failed += 1
            continue
        print(f"resized {path.name}: {before[0]}x{before[1]} -> {after[0]}x{after[1]}")
        done += 1
    print(f"{'would resize' if args.dry_run else 'resized'} {done} image(s) into {output}; {failed} could not be read")
    return 0


if __name__ == "__main__":
    sys.exit(main())
