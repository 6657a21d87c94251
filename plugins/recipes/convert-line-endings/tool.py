"""Convert text files between Windows (CRLF) and Unix (LF) line endings.

Works on one file or every matching file under a folder; binary and non-UTF-8
files are skipped, files already in the wanted form are left untouched.
"""

import argparse
import os
import re
import sys
from pathlib import Path

ENDINGS = {"lf": b"\n", "crlf": b"\r\n"}
LINE_END = re.compile(rb"\r\n|\r|\n")


def files_under(path: Path, glob: str) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(
        p for p in path.rglob(glob)
        if p.is_file() and not p.is_symlink() and not any(part.startswith(".") for part in p.relative_to(path).parts)
    )


def is_text(data: bytes) -> bool:
    if b"\0" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def main(argv=None):
    parser = argparse.ArgumentParser(description="Convert line endings to LF (Unix, macOS) or CRLF (Windows).")
    parser.add_argument("path", type=Path, help="a text file, or a folder searched recursively")
    parser.add_argument("--to", choices=sorted(ENDINGS), default="lf", help="the line ending to use (default %(default)s)")
    parser.add_argument("--glob", default="*", help="only files whose name matches, e.g. '*.txt' (default all)")
    parser.add_argument("--dry-run", action="store_true", help="only print which files would change")
    args = parser.parse_args(argv)

    if not args.path.exists():
        parser.error(f"{args.path} does not exist")
    changed = skipped = 0
    for path in files_under(args.path, args.glob):
        data = path.read_bytes()
        if not is_text(data):
            skipped += 1
            continue
        new = LINE_END.sub(ENDINGS[args.to], data)
        if new == data:
            continue
        print(f"{'would convert' if args.dry_run else 'converted'} {path} to {args.to.upper()}")
        if not args.dry_run:
            partial = path.with_name(f".{path.name}.eol")
            partial.write_bytes(new)
            os.chmod(partial, path.stat().st_mode)
            os.replace(partial, path)
        changed += 1
    print(f"{'would convert' if args.dry_run else 'converted'} {changed} file(s) to {args.to.upper()}; skipped {skipped} binary file(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
