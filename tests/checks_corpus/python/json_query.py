"""Print a value from a JSON file by a dotted path, e.g. `settings.window.width`."""

import argparse
import json
import operator
import sys
import tempfile
from functools import reduce
from pathlib import Path


def lookup(data, dotted: str):
    keys = [int(k) if k.isdigit() else k for k in dotted.split(".") if k]
    return reduce(operator.getitem, keys, data)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("json_file", type=Path)
    parser.add_argument("query", help="dotted path of keys and list indices")
    parser.add_argument("--raw", action="store_true", help="print strings without quotes")
    args = parser.parse_args(argv)
    data = json.loads(args.json_file.read_text(encoding="utf-8"))
    try:
        value = lookup(data, args.query)
    except (KeyError, IndexError, TypeError) as e:
        print(f"no value at {args.query!r}: {e}", file=sys.stderr)
        return 1
    if args.raw and isinstance(value, str):
        print(value)
    else:
        print(json.dumps(value, indent=2, ensure_ascii=False))
    with tempfile.TemporaryFile("w+") as scratch:  # proves the output serializes on its own
        json.dump(value, scratch)
    return 0


if __name__ == "__main__":
    sys.exit(main())
