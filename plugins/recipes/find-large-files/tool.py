"""List the biggest files under a folder, largest first, to see what is filling the disk."""

import argparse
import re
import sys
from pathlib import Path

UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "m": 1024**2, "mb": 1024**2, "g": 1024**3, "gb": 1024**3, "t": 1024**4, "tb": 1024**4}


def parse_size(text: str) -> int:
    """'100MB', '1.5 GB', '500k' or a plain number of bytes."""
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*", text)
    if not match or match.group(2).lower() not in UNITS:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (try 100MB, 1.5GB or 500k)")
    return int(float(match.group(1)) * UNITS[match.group(2).lower()])


def human(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"


def main(argv=None):
    parser = argparse.ArgumentParser(description="Find the largest files in a folder and its subfolders.")
    parser.add_argument("folder", type=Path, help="folder to search")
    parser.add_argument("--min-size", type=parse_size, default="100MB", help="only files at least this big, e.g. 500MB or 2GB (default %(default)s)")
    parser.add_argument("--top", type=int, default=20, help="show at most this many files (default %(default)s)")
    args = parser.parse_args(argv)

    if not args.folder.is_dir():
        parser.error(f"{args.folder} is not a folder")
    found = []
    for path in args.folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            size = path.stat().st_size
            if size >= args.min_size:
                found.append((size, path))
    found.sort(key=lambda item: (-item[0], str(item[1])))
    for size, path in found[: args.top]:
        print(f"{human(size):>10}  {path.relative_to(args.folder)}")
    total = sum(size for size, _ in found)
    print(f"{len(found)} file(s) of at least {human(args.min_size)}, {human(total)} in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
