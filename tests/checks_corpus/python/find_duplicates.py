"""List files with identical content under a folder."""
from __future__ import annotations

import argparse
import hashlib
import os
from collections import defaultdict


def digest(path: str, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def find(root: str) -> dict[str, list[str]]:
    by_size: dict[int, list[str]] = defaultdict(list)
    for folder, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            if os.path.isfile(path) and not os.path.islink(path):
                by_size[os.path.getsize(path)].append(path)
    groups: dict[str, list[str]] = defaultdict(list)
    for paths in by_size.values():
        if len(paths) > 1:
            for path in paths:
                groups[digest(path)].append(path)
    return {key: paths for key, paths in groups.items() if len(paths) > 1}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("root_dir", help="folder to search")
    args = parser.parse_args()
    for key, paths in sorted(find(args.root_dir).items()):
        print(key[:12], *paths, sep="\n  ")


if __name__ == "__main__":
    main()
