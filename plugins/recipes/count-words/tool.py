"""Count lines, words and characters in text files, like `wc`, with a total.

Folders are searched for text files (by default .txt, .md, .csv and common
document-like text formats; --ext changes that). Files that are not UTF-8 text are
reported and skipped.
"""

import argparse
import sys
from pathlib import Path

TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".rst", ".csv", ".tsv", ".tex", ".html", ".log", ".json", ".srt"}


def counts(text: str) -> tuple[int, int, int]:
    return len(text.splitlines()), len(text.split()), len(text)


def text_files(paths: list[Path], suffixes: set[str]) -> list[Path]:
    found = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in suffixes))
        else:
            found.append(path)
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description="Count lines, words and characters in text files.")
    parser.add_argument("paths", type=Path, nargs="+", help="text files, or folders to search for text files")
    parser.add_argument("--ext", action="append", help="file extension to count in folders, e.g. --ext .py (repeatable)")
    args = parser.parse_args(argv)

    suffixes = {e.lower() if e.startswith(".") else f".{e.lower()}" for e in args.ext} if args.ext else TEXT_SUFFIXES
    totals = [0, 0, 0]
    files = 0
    print(f"{'lines':>10} {'words':>10} {'chars':>10}  file")
    for path in text_files(args.paths, suffixes):
        try:
            numbers = counts(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            print(f"not found: {path}", file=sys.stderr)
            continue
        except (UnicodeDecodeError, IsADirectoryError, PermissionError) as e:
            print(f"skipped {path}: {type(e).__name__}", file=sys.stderr)
            continue
        print(f"{numbers[0]:>10} {numbers[1]:>10} {numbers[2]:>10}  {path}")
        totals = [a + b for a, b in zip(totals, numbers)]
        files += 1
    print(f"{totals[0]:>10} {totals[1]:>10} {totals[2]:>10}  total ({files} file(s))")
    return 0 if files else 1


if __name__ == "__main__":
    sys.exit(main())
