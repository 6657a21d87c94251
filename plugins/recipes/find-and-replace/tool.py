"""Find and replace text in every matching file under a folder (or in one file).

Plain text by default; --regex for regular expressions. Binary and non-UTF-8
files are skipped. Each changed file is rewritten through a temporary file and one
rename, so a failure never leaves it half-written.
"""

import argparse
import os
import re
import sys
from pathlib import Path


def files_under(path: Path, glob: str) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(
        p for p in path.rglob(glob)
        if p.is_file() and not p.is_symlink() and not any(part.startswith(".") for part in p.relative_to(path).parts)
    )


def read_text(path: Path) -> str | None:
    data = path.read_bytes()
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def main(argv=None):
    parser = argparse.ArgumentParser(description="Find and replace text across many files.")
    parser.add_argument("path", type=Path, help="folder (searched recursively) or single file")
    parser.add_argument("--find", required=True, help="the text to find")
    parser.add_argument("--replace", required=True, help="the replacement text")
    parser.add_argument("--regex", action="store_true", help="treat --find as a regular expression (\\1 in --replace for groups)")
    parser.add_argument("--ignore-case", action="store_true", help="match regardless of case")
    parser.add_argument("--glob", default="*", help="only files whose name matches, e.g. '*.txt' (default all)")
    parser.add_argument("--dry-run", action="store_true", help="only print how many replacements each file would get")
    args = parser.parse_args(argv)

    if not args.path.exists():
        parser.error(f"{args.path} does not exist")
    if not args.find:
        parser.error("--find must not be empty")
    flags = re.IGNORECASE if args.ignore_case else 0
    try:
        pattern = re.compile(args.find if args.regex else re.escape(args.find), flags)
    except re.error as e:
        parser.error(f"--find is not a valid regular expression: {e}")
    replacement = args.replace if args.regex else args.replace.replace("\\", "\\\\")
    changed = total = 0
    for path in files_under(args.path, args.glob):
        text = read_text(path)
        if text is None:
            continue
        new, count = pattern.subn(replacement, text)
        if count == 0:
            continue
        print(f"{'would replace' if args.dry_run else 'replaced'} {count} in {path}")
        if not args.dry_run:
            partial = path.with_name(f".{path.name}.replace")
            partial.write_bytes(new.encode("utf-8"))
            os.chmod(partial, path.stat().st_mode)
            os.replace(partial, path)
        changed += 1
        total += count
    print(f"{'would make' if args.dry_run else 'made'} {total} replacement(s) in {changed} file(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
