"""Indent with tabs instead of spaces in a text file or in the text files of a folder.

Only the indentation at the start of each line changes: every --width spaces (4 by
default) become one tab, and leftover spaces stay. Binary files are skipped; each
changed file is rewritten through a temporary file and one rename.
"""

import argparse
import fnmatch
import os
import re
import sys
from pathlib import Path

INDENT = re.compile(r"^[ \t]+", re.MULTILINE)


def files(root: Path, pattern: str):
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*") if p.is_file() and fnmatch.fnmatch(p.name, pattern) and ".git" not in p.parts)


def tabify(indent: str, width: int) -> str:
    columns = len(indent.expandtabs(width))
    return "\t" * (columns // width) + " " * (columns % width)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Convert indentation spaces to tabs in text files.")
    parser.add_argument("path", type=Path, help="a text file, or a folder whose text files are converted")
    parser.add_argument("--width", type=int, default=4, help="spaces per tab (default %(default)s)")
    parser.add_argument("--match", default="*", help="only files whose name matches this pattern, e.g. '*.py' (default %(default)s)")
    parser.add_argument("--dry-run", action="store_true", help="only list the files that would change")
    args = parser.parse_args(argv)

    if not args.path.exists():
        parser.error(f"{args.path} does not exist")
    if not 1 <= args.width <= 16:
        parser.error("--width must be between 1 and 16")
    changed = 0
    for path in files(args.path, args.match):
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        converted = INDENT.sub(lambda m: tabify(m.group(0), args.width), text)
        if converted == text:
            continue
        changed += 1
        if args.dry_run:
            print(f"would convert {path}")
            continue
        partial = path.with_name(f".{path.name}.part")
        partial.write_bytes(converted.encode("utf-8"))
        os.replace(partial, path)
        print(f"converted {path}")
    print(f"{'would change' if args.dry_run else 'changed'} {changed} file(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
