"""Find and replace text in file names: 'draft' -> 'final', underscores -> spaces, and so on.

Only the part before the extension changes unless --include-extension is given; a
new name that is already taken gets -1, -2 ... instead of overwriting. Plain text by
default, or a regular expression with --regex (\\1 in --replace refers to a group).
"""

import argparse
import re
import sys
from pathlib import Path


def free_name(target: Path) -> Path:
    candidate, n = target, 1
    while candidate.exists():
        candidate, n = target.with_name(f"{target.stem}-{n}{target.suffix}"), n + 1
    return candidate


def main(argv=None):
    parser = argparse.ArgumentParser(description="Find and replace text in file names.")
    parser.add_argument("folder", type=Path, help="the folder whose files are renamed")
    parser.add_argument("--find", required=True, help="the text to look for in each name")
    parser.add_argument("--replace", default="", help="what to put instead (default: remove it)")
    parser.add_argument("--regex", action="store_true", help="treat --find as a regular expression")
    parser.add_argument("--ignore-case", action="store_true", help="match regardless of upper/lower case")
    parser.add_argument("--include-extension", action="store_true", help="also replace in the extension")
    parser.add_argument("--recursive", action="store_true", help="also rename files in subfolders")
    parser.add_argument("--dry-run", action="store_true", help="only print the new names")
    args = parser.parse_args(argv)

    if not args.folder.is_dir():
        parser.error(f"{args.folder} is not a folder")
    try:
        pattern = re.compile(args.find if args.regex else re.escape(args.find), re.IGNORECASE if args.ignore_case else 0)
    except re.error as e:
        parser.error(f"--find is not a valid regular expression: {e}")
    replacement = args.replace if args.regex else args.replace.replace("\\", "\\\\")
    candidates = args.folder.rglob("*") if args.recursive else args.folder.iterdir()
    renamed = 0
    for path in sorted(p for p in candidates if p.is_file() and not p.is_symlink()):
        stem, suffix = (path.name, "") if args.include_extension else (path.stem, path.suffix)
        new_stem = pattern.sub(replacement, stem).strip()
        if new_stem == stem or not new_stem or "/" in new_stem or new_stem in (".", ".."):
            continue
        target = free_name(path.with_name(new_stem + suffix))
        renamed += 1
        print(f"{path.name} -> {target.name}" if args.dry_run else f"renamed {path.name} -> {target.name}")
        if not args.dry_run:
            path.rename(target)
    print(f"{'would rename' if args.dry_run else 'renamed'} {renamed} file(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
