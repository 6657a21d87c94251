"""Make JPEG thumbnails of every image in a folder."""

import argparse
from pathlib import Path

from PIL import Image, ImageOps


def thumbnail(source: Path, target: Path, size: int) -> None:
    with Image.open(source) as image:
        image = ImageOps.exif_transpose(image)
        image.thumbnail((size, size))
        image.convert("RGB").save(target, "JPEG", quality=85)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("images_dir", type=Path)
    parser.add_argument("--output-dir", type=Path, required=True, help="where thumbnails go")
    parser.add_argument("--size", type=int, default=256)
    args = parser.parse_args()
    args.output_dir.mkdir(parents=True, exist_ok=True)
    for source in sorted(args.images_dir.glob("*")):
        if source.suffix.lower() in {".jpg", ".jpeg", ".png", ".webp"}:
            thumbnail(source, args.output_dir / (source.stem + ".jpg"), args.size)


if __name__ == "__main__":
    main()
