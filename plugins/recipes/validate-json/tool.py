"""Check that JSON files are valid, and say exactly where each broken one goes wrong.

Takes one file or every *.json file in a folder (and *.jsonl with --lines, one JSON
value per line). Prints "ok" or the line, column and reason per file; exits 1 when
any file is invalid, so it also works in scripts. Nothing is changed.
"""

import argparse
import json
import sys
from pathlib import Path


def problem(path: Path, lines: bool) -> str | None:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        return f"not UTF-8 text (byte {e.start})"
    try:
        if not lines:
            json.loads(text)
            return None
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    json.loads(line)
                except json.JSONDecodeError as e:
                    return f"{e.msg} at line {number}, column {e.colno}"
    except json.JSONDecodeError as e:
        return f"{e.msg} at line {e.lineno}, column {e.colno}"
    return None


def main(argv=None):
    parser = argparse.ArgumentParser(description="Check whether JSON files are valid.")
    parser.add_argument("path", type=Path, help="a JSON file, or a folder whose *.json files are checked")
    parser.add_argument("--lines", action="store_true", help="the files are JSON Lines (one value per line); also checks *.jsonl in a folder")
    args = parser.parse_args(argv)

    if not args.path.exists():
        parser.error(f"{args.path} does not exist")
    if args.path.is_file():
        paths = [args.path]
    else:
        paths = sorted(args.path.rglob("*.json")) + (sorted(args.path.rglob("*.jsonl")) if args.lines else [])
    bad = 0
    for path in paths:
        found = problem(path, args.lines or path.suffix == ".jsonl")
        bad += found is not None
        print(f"{path}: {'ok' if found is None else 'INVALID: ' + found}")
    print(f"{len(paths) - bad} valid, {bad} invalid")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
