"""Print the titles of an RSS feed."""

import argparse
import urllib.request
import xml.etree.ElementTree as ET
from urllib.parse import urlparse


def fetch(url: str, timeout: float) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": "toolsmith-headlines"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("--limit", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=10.0)
    args = parser.parse_args()
    if urlparse(args.url).scheme not in ("http", "https"):
        parser.error("the feed must be an http(s) URL")
    root = ET.fromstring(fetch(args.url, args.timeout))
    for item in list(root.iter("item"))[: args.limit]:
        print(item.findtext("title", default="(untitled)"))


if __name__ == "__main__":
    main()
