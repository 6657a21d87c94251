"""Reformat JSON files so people can read them: indented, one key per line, optionally with sorted keys.

Takes one file or every *.json file in a folder. A file that is not valid JSON is
reported with its line and column and left alone. Files are rewritten through a
temporary file and one rename; --compact does the opposite (one line, no spaces).
"""

import argparse
import json
import os
import sys
from pathlib import Path


def main(argv=None):
    parser = argparse.ArgumentParser(description="Pretty-print (or compact) JSON files.")
    parser.add_argument("path", type=Path, help="a JSON file, or a folder whose *.json files are reformatted")
    parser.add_argument("--indent", type=int, default=2, help="spaces per indentation level (default %(default)s)")
    parser.add_argument("--sort-keys", action="store_true", help="sort the keys of every object")
    parser.add_argument("--compact", action="store_true", help="write each file on one line instead")
    parser.add_argument("--dry-run", action="store_true", help="only list the files that would change")
    args = parser.parse_args(argv)

    if not args.path.exists():
        parser.error(f"{args.path} does not exist")
    if not 0 <= args.indent <= 8:
        parser.error("--indent must be between 0 and 8")
    paths = [args.path] if args.path.is_file() else sorted(args.path.rglob("*.json"))
    failed = changed = 0
    for path in paths:
        text = path.read_text(encoding="utf-8", errors="replace")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            print(f"{path}: not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}; left as it was", file=sys.stderr)
            failed += 1
            continue
        if args.compact:
            pretty = json.dumps(data, ensure_ascii=False, sort_keys=args.sort_keys, separators=(",", ":")) + "\n"
        else:
            pretty = json.dumps(data, ensure_ascii=False, sort_keys=args.sort_keys, indent=args.indent) + "\n"
        if pretty == text:
            continue
        changed += 1
        if args.dry_run:
            print(f"would reformat {path}")
            continue
        partial = path.with_name(f".{path.name}.part")
        partial.write_text(pretty, encoding="utf-8")
        os.replace(partial, path)
        print(f"reformatted {path}")
    print(f"{'would change' if args.dry_run else 'changed'} {changed} file(s); {failed} not valid JSON")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
