"""Turn photos the right way up using their EXIF orientation, so every program shows them upright.

Cameras and phones often save a photo sideways and only note the rotation in EXIF;
some viewers and websites ignore that note. Each such photo is rotated (or flipped)
for real and its orientation tag reset; other EXIF data stays. Photos already upright
are left alone. Files are rewritten through a temporary file and one rename.
"""

import argparse
import os
import sys
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

ORIENTATION = 0x0112
SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp"}


def main(argv=None):
    parser = argparse.ArgumentParser(description="Rotate photos upright according to their EXIF orientation.")
    parser.add_argument("folder", type=Path, help="the folder of photos")
    parser.add_argument("--recursive", action="store_true", help="also fix photos in subfolders")
    parser.add_argument("--quality", type=int, default=92, help="JPEG quality of rewritten photos, 1-95 (default %(default)s)")
    parser.add_argument("--dry-run", action="store_true", help="only list the photos that would be rotated")
    args = parser.parse_args(argv)

    if not args.folder.is_dir():
        parser.error(f"{args.folder} is not a folder")
    if not 1 <= args.quality <= 95:
        parser.error("--quality must be between 1 and 95")
    candidates = args.folder.rglob("*") if args.recursive else args.folder.iterdir()
    rotated = 0
    for path in sorted(p for p in candidates if p.is_file() and p.suffix.lower() in SUFFIXES):
        try:
            with Image.open(path) as image:
                orientation = image.getexif().get(ORIENTATION, 1)
                if orientation in (1, None) or orientation not in range(2, 9):
                    continue
                rotated += 1
                if args.dry_run:
                    print(f"would rotate {path.relative_to(args.folder)} (orientation {orientation})")
                    continue
                upright = ImageOps.exif_transpose(image)
                options = {"exif": upright.getexif().tobytes()}
                if image.format == "JPEG":
                    options["quality"] = args.quality
                partial = path.with_name(f".{path.name}.part")
                upright.save(partial, format=image.format, **options)
        except (UnidentifiedImageError, OSError) as e:
            print(f"skipped {path.name}: {e}", file=sys.stderr)
            continue
        if not args.dry_run:
            os.replace(partial, path)
            print(f"rotated {path.relative_to(args.folder)}")
    print(f"{'would rotate' if args.dry_run else 'rotated'} {rotated} photo(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
