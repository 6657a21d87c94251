"""Remove spaces and tabs at the end of lines in a text file or in the text files of a folder.

Line endings (LF or CRLF) are kept, and so is a missing final newline. Binary files
are skipped. Each changed file is rewritten through a temporary file and one rename.
"""

import argparse
import fnmatch
import os
import re
import sys
from pathlib import Path

TRAILING = re.compile(rb"[ \t]+(?=\r?\n|\Z)")


def files(root: Path, pattern: str):
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*") if p.is_file() and fnmatch.fnmatch(p.name, pattern) and ".git" not in p.parts)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Strip trailing whitespace from the lines of text files.")
    parser.add_argument("path", type=Path, help="a text file, or a folder whose text files are cleaned")
    parser.add_argument("--match", default="*", help="only files whose name matches this pattern, e.g. '*.py' (default %(default)s)")
    parser.add_argument("--dry-run", action="store_true", help="only list the files that would change")
    args = parser.parse_args(argv)

    if not args.path.exists():
        parser.error(f"{args.path} does not exist")
    changed = 0
    for path in files(args.path, args.match):
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            continue
        cleaned, count = TRAILING.subn(b"", data)
        if not count:
            continue
        changed += 1
        if args.dry_run:
            print(f"would clean {count} line(s) in {path}")
            continue
        partial = path.with_name(f".{path.name}.part")
        partial.write_bytes(cleaned)
        os.replace(partial, path)
        print(f"cleaned {count} line(s) in {path}")
    print(f"{'would change' if args.dry_run else 'changed'} {changed} file(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
