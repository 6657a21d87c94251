import argparse
import csv
import json
import sys


def read_rows(path, delimiter):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter=delimiter))


def main():
    parser = argparse.ArgumentParser(description="Convert a CSV file to JSON.")
    parser.add_argument("input", help="CSV file to read")
    parser.add_argument("-o", "--output", help="JSON file to write (default: stdout)")
    parser.add_argument("--delimiter", default=",", help="field separator")
    parser.add_argument("--indent", type=int, default=2)
    args = parser.parse_args()
    rows = read_rows(args.input, args.delimiter)
    text = json.dumps(rows, indent=args.indent, ensure_ascii=False)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    else:
        sys.stdout.write(text + "\n")
    print(f"{len(rows)} rows", file=sys.stderr)


if __name__ == "__main__":
    main()
