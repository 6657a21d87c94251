"""Count error messages in (possibly gzipped) log files."""

import argparse
import gzip
import itertools
import re
from collections import Counter

ERROR_LINE = re.compile(r"\b(ERROR|CRITICAL)\b[:\s]+(?P<message>.*)")


def open_log(path):
    opener = gzip.open if path.endswith(".gz") else open
    return opener(path, "rt", encoding="utf-8", errors="replace")


def errors(paths):
    for path in paths:
        with open_log(path) as f:
            for line in f:
                match = ERROR_LINE.search(line)
                if match:
                    yield match["message"].strip()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("logs", nargs="+", help="log files to read")
    parser.add_argument("--top", type=int, default=5)
    args = parser.parse_args()
    counts = Counter(itertools.islice(errors(args.logs), 1_000_000))
    for message, count in counts.most_common(args.top):
        print(f"{count:6d}  {message}")


if __name__ == "__main__":
    main()
