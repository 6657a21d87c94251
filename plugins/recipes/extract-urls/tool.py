"""Pull every web link (http://, https://, www.) out of a text file, or out of all text files in a folder.

Links are printed once each, in the order first seen (or written to --output, one per
line). Trailing punctuation such as a full stop or closing bracket is not part of a
link. Binary files are skipped; nothing is changed.
"""

import argparse
import re
import sys
from pathlib import Path

URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"'`]+", re.IGNORECASE)
TRAILING = ".,;:!?)]}>'\""


def text_files(root: Path):
    paths = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    for path in paths:
        data = path.read_bytes()
        if b"\0" not in data[:8192]:
            yield path, data.decode("utf-8", "replace")


def clean(url: str) -> str:
    while url and url[-1] in TRAILING and not (url[-1] == ")" and url.count("(") >= url.count(")")):
        url = url[:-1]
    return url


def main(argv=None):
    parser = argparse.ArgumentParser(description="Extract web links (URLs) from text files.")
    parser.add_argument("path", type=Path, help="a text file, or a folder whose text files are searched")
    parser.add_argument("--output", type=Path, help="write the links to this file, one per line, instead of printing them")
    parser.add_argument("--domain", help="keep only links to this domain (and its subdomains), e.g. example.com")
    args = parser.parse_args(argv)

    if not args.path.exists():
        parser.error(f"{args.path} does not exist")
    found = {}
    for path, text in text_files(args.path):
        for url in map(clean, URL.findall(text)):
            host = re.sub(r"^(?:https?://)?", "", url, flags=re.IGNORECASE).split("/")[0].split(":")[0].lower()
            if args.domain and not (host == args.domain.lower() or host.endswith("." + args.domain.lower())):
                continue
            found.setdefault(url, path)
    if args.output:
        partial = args.output.with_name(f".{args.output.name}.part")
        partial.write_text("".join(f"{u}\n" for u in found), encoding="utf-8")
        partial.replace(args.output)
        print(f"wrote {len(found)} link(s) to {args.output}")
    else:
        for url in found:
            print(url)
        print(f"{len(found)} link(s) found", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
