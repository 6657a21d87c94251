"""Split a big file into numbered parts of a fixed size (movie.mkv.001, movie.mkv.002 ...).

Handy for uploads with a size limit or small USB sticks. The join-files recipe (or
`cat movie.mkv.* > movie.mkv`) puts them back together. The file is read in
blocks, so any size works; existing parts are never overwritten.
"""

import argparse
import math
import re
import sys
from pathlib import Path

UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "m": 1024**2, "mb": 1024**2, "g": 1024**3, "gb": 1024**3}
BLOCK = 1 << 20


def parse_size(text: str) -> int:
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*", text)
    if not match or match.group(2).lower() not in UNITS or float(match.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (try 100MB, 1.5GB or 500k)")
    return max(1, int(float(match.group(1)) * UNITS[match.group(2).lower()]))


def copy_part(source, target: Path, size: int) -> None:
    partial = target.with_name(f".{target.name}.part")
    try:
        with partial.open("wb") as out:
            left = size
            while left:
                block = source.read(min(BLOCK, left))
                if not block:
                    break
                out.write(block)
                left -= len(block)
        partial.rename(target)
    finally:
        partial.unlink(missing_ok=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Split a file into parts of a given size.")
    parser.add_argument("file", type=Path, help="the file to split")
    parser.add_argument("output", type=Path, help="folder for the parts")
    parser.add_argument("--size", type=parse_size, default="100MB", help="size of each part, e.g. 25MB or 4GB (default %(default)s)")
    parser.add_argument("--dry-run", action="store_true", help="only print the parts that would be written")
    args = parser.parse_args(argv)

    if not args.file.is_file():
        parser.error(f"{args.file} is not a file")
    total = args.file.stat().st_size
    count = max(1, math.ceil(total / args.size))
    digits = max(3, len(str(count)))
    targets = [args.output / f"{args.file.name}.{n:0{digits}d}" for n in range(1, count + 1)]
    clash = next((t for t in targets if t.exists()), None)
    if clash:
        parser.error(f"{clash} already exists; remove the old parts or choose another folder")
    if args.dry_run:
        for target in targets:
            print(f"would write {target}")
        print(f"would split {total} bytes into {count} part(s) of up to {args.size} bytes")
        return 0
    args.output.mkdir(parents=True, exist_ok=True)
    with args.file.open("rb") as source:
        for target in targets:
            copy_part(source, target, args.size)
            print(f"wrote {target.name}")
    print(f"split {args.file.name} ({total} bytes) into {count} part(s) in {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
