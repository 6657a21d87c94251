"""Join split parts (movie.mkv.001, movie.mkv.002 ...) back into one file.

Parts are joined in numeric order, and a gap in the numbering is an error rather
than a silently broken file. The result is written to a temporary name and renamed
when complete; an existing output file is never overwritten.
"""

import argparse
import re
import shutil
import sys
from pathlib import Path

NUMBER = re.compile(r"(\d+)$")


def part_number(path: Path) -> int:
    match = NUMBER.search(path.name)
    if not match:
        raise ValueError(f"{path.name} does not end in a part number like .001")
    return int(match.group(1))


def main(argv=None):
    parser = argparse.ArgumentParser(description="Join numbered parts back into one file.")
    parser.add_argument("parts", type=Path, nargs="+", help="the part files, e.g. movie.mkv.001 movie.mkv.002 ... (any order)")
    parser.add_argument("-o", "--output", type=Path, required=True, help="the joined file to create")
    parser.add_argument("--dry-run", action="store_true", help="only print the order the parts would be joined in")
    args = parser.parse_args(argv)

    missing = [str(p) for p in args.parts if not p.is_file()]
    if missing:
        parser.error(f"not found: {', '.join(missing)}")
    try:
        parts = sorted(args.parts, key=part_number)
    except ValueError as e:
        parser.error(str(e))
    numbers = [part_number(p) for p in parts]
    expected = list(range(numbers[0], numbers[0] + len(numbers)))
    if numbers != expected:
        gaps = sorted(set(expected) - set(numbers)) or sorted({n for n in numbers if numbers.count(n) > 1})
        parser.error(f"the parts are not consecutive (check part(s) {gaps}); give every part exactly once")
    if args.output.exists():
        parser.error(f"{args.output} already exists; choose another name")
    for part in parts:
        print(f"{'would append' if args.dry_run else 'appended'} {part.name}")
    if args.dry_run:
        print(f"would join {len(parts)} part(s) into {args.output}")
        return 0
    partial = args.output.with_name(f".{args.output.name}.part")
    try:
        with partial.open("wb") as out:
            for part in parts:
                with part.open("rb") as source:
                    shutil.copyfileobj(source, out, 1 << 20)
        partial.rename(args.output)
    finally:
        partial.unlink(missing_ok=True)
    print(f"joined {len(parts)} part(s) into {args.output} ({args.output.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
