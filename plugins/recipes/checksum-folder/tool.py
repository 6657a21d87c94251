"""Record a checksum of every file under a folder, in the format `sha256sum -c` understands.

Each line is "<hex digest>  <path relative to the folder>". Keep the list to check
later (with the verify-checksums recipe or `sha256sum -c`) that a backup or a copy
is complete and unchanged. Without --output the list is printed.
"""

import argparse
import hashlib
import os
import sys
from pathlib import Path

CHUNK = 1 << 20


def digest(path: Path, algorithm: str) -> str:
    h = hashlib.new(algorithm)
    with path.open("rb") as f:
        while block := f.read(CHUNK):
            h.update(block)
    return h.hexdigest()


def main(argv=None):
    parser = argparse.ArgumentParser(description="Write a checksum list (sha256sum format) for every file in a folder.")
    parser.add_argument("folder", type=Path, help="folder to checksum, with its subfolders")
    parser.add_argument("--output", type=Path, help="file to write the list to (default: print it)")
    parser.add_argument("--algorithm", choices=["sha256", "sha1", "md5", "sha512"], default="sha256", help="hash to use (default %(default)s)")
    args = parser.parse_args(argv)

    if not args.folder.is_dir():
        parser.error(f"{args.folder} is not a folder")
    skip = args.output.resolve() if args.output else None
    lines = []
    for path in sorted(args.folder.rglob("*")):
        if path.is_file() and not path.is_symlink() and path.resolve() != skip:
            lines.append(f"{digest(path, args.algorithm)}  {path.relative_to(args.folder).as_posix()}\n")
    if args.output is None:
        sys.stdout.writelines(lines)
        return 0
    partial = args.output.with_name(f".{args.output.name}.part")
    partial.write_text("".join(lines), encoding="utf-8")
    os.replace(partial, args.output)
    print(f"wrote {args.algorithm} checksums of {len(lines)} file(s) to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
