"""List the files under a folder that contain a word or phrase, with the matching lines (like grep -r).

Plain text by default, or a regular expression with --regex; --ignore-case matches
"Invoice" and "invoice" alike. Binary files are skipped; nothing is changed.
"""

import argparse
import fnmatch
import re
import sys
from pathlib import Path


def main(argv=None):
    parser = argparse.ArgumentParser(description="Find the files that contain some text.")
    parser.add_argument("folder", type=Path, help="the folder to search (subfolders included)")
    parser.add_argument("--text", required=True, help="the word or phrase to look for")
    parser.add_argument("--regex", action="store_true", help="treat --text as a regular expression")
    parser.add_argument("--ignore-case", action="store_true", help="match regardless of upper/lower case")
    parser.add_argument("--match", default="*", help="only files whose name matches this pattern, e.g. '*.txt' (default %(default)s)")
    parser.add_argument("--names-only", action="store_true", help="print only the file names, not the matching lines")
    args = parser.parse_args(argv)

    if not args.folder.is_dir():
        parser.error(f"{args.folder} is not a folder")
    try:
        pattern = re.compile(args.text if args.regex else re.escape(args.text), re.IGNORECASE if args.ignore_case else 0)
    except re.error as e:
        parser.error(f"--text is not a valid regular expression: {e}")
    hits = 0
    for path in sorted(p for p in args.folder.rglob("*") if p.is_file() and fnmatch.fnmatch(p.name, args.match)):
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            continue
        lines = [(n, line) for n, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1) if pattern.search(line)]
        if not lines:
            continue
        hits += 1
        name = path.relative_to(args.folder).as_posix()
        if args.names_only:
            print(name)
            continue
        for number, line in lines:
            print(f"{name}:{number}: {line.strip()[:200]}")
    print(f"{hits} file(s) contain {args.text!r}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
