"""Clean up messy file names: accents to plain letters, spaces and odd characters to dashes.

"Résumé (final) copy!!.PDF" becomes "Resume-final-copy.pdf". Extensions are
lower-cased, --lowercase lower-cases the whole name. A clean name that is already
taken gets a -1, -2 ... suffix, so nothing is overwritten; clean names stay as they are.
"""

import argparse
import re
import sys
import unicodedata
from pathlib import Path


def clean(stem: str, separator: str, lowercase: bool) -> str:
    """Accents dropped (é -> e), letters of every script kept, anything else becomes the separator."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", stem) if not unicodedata.combining(c))
    plain = unicodedata.normalize("NFC", plain)
    text = "".join(c if c.isalnum() or c in "._-" else separator for c in plain)
    text = re.sub(rf"[{re.escape(separator)}]{{2,}}", separator, text).strip(separator + ".")
    return text.lower() if lowercase else text


def free_name(target: Path, source: Path) -> Path:
    n = 1
    candidate = target
    while candidate.exists() and candidate != source:
        candidate = target.with_name(f"{target.stem}-{n}{target.suffix}")
        n += 1
    return candidate


def main(argv=None):
    parser = argparse.ArgumentParser(description="Make file names clean: no spaces, accents or special characters.")
    parser.add_argument("folder", type=Path, help="folder whose file names to clean")
    parser.add_argument("--separator", default="-", choices=["-", "_"], help="what replaces spaces and odd characters (default %(default)s)")
    parser.add_argument("--lowercase", action="store_true", help="also make the names lowercase")
    parser.add_argument("--recursive", action="store_true", help="also clean names in subfolders (files only)")
    parser.add_argument("--dry-run", action="store_true", help="only print what would be renamed")
    args = parser.parse_args(argv)

    if not args.folder.is_dir():
        parser.error(f"{args.folder} is not a folder")
    files = sorted(args.folder.rglob("*") if args.recursive else args.folder.iterdir())
    renamed = 0
    for path in files:
        if not path.is_file() or path.name.startswith("."):
            continue
        stem = clean(path.stem, args.separator, args.lowercase) or "file"
        suffix = clean(path.suffix, args.separator, True)
        target = free_name(path.with_name(stem + (f".{suffix}" if suffix else "")), path)
        if target == path:
            continue
        print(f"{'would rename' if args.dry_run else 'renamed'} {path.name!r} -> {target.name!r}")
        if not args.dry_run:
            path.rename(target)
        renamed += 1
    print(f"{'would rename' if args.dry_run else 'renamed'} {renamed} file(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
