"""Copy a file into a backup folder with a timestamp and keep only the newest copies."""

import argparse
import functools
import logging
import shutil
import time
from datetime import datetime
from pathlib import Path

log = logging.getLogger("backup")


def timed(function):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            log.info("%s took %.3fs", function.__name__, time.perf_counter() - start)
    return wrapper


def rotate(folder: Path, stem: str, keep: int) -> list[Path]:
    copies = sorted(folder.glob(f"{stem}.*.bak"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in copies[keep:]:
        old.unlink()
    return copies[keep:]


@timed
def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("file", type=Path, help="file to back up")
    parser.add_argument("backup_dir", type=Path, help="destination folder for the copies")
    parser.add_argument("--keep", type=int, default=5)
    parser.add_argument("-v", "--verbose", action="count", default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    args.backup_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    shutil.copy2(args.file, args.backup_dir / f"{args.file.name}.{stamp}.bak")
    for removed in rotate(args.backup_dir, args.file.name, args.keep):
        log.info("removed %s", removed)


if __name__ == "__main__":
    main()
