"""Check the files of a folder against a checksum list (as made by checksum-folder or sha256sum).

Reports every file that changed or is missing, and with --report-new the files
not in the list. Exits with status 1 when anything is wrong, so scripts can rely on it.
"""

import argparse
import hashlib
import re
import sys
from pathlib import Path

CHUNK = 1 << 20
LINE = re.compile(r"^([0-9a-fA-F]+) [ *](.+)$")
ALGORITHMS = {32: "md5", 40: "sha1", 64: "sha256", 128: "sha512"}


def digest(path: Path, algorithm: str) -> str:
    h = hashlib.new(algorithm)
    with path.open("rb") as f:
        while block := f.read(CHUNK):
            h.update(block)
    return h.hexdigest()


def read_list(path: Path) -> dict[str, str]:
    expected = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        match = LINE.match(line)
        if not match or len(match.group(1)) not in ALGORITHMS:
            raise ValueError(f"line {number} is not '<checksum>  <file>': {line[:80]!r}")
        expected[match.group(2)] = match.group(1).lower()
    return expected


def main(argv=None):
    parser = argparse.ArgumentParser(description="Verify files against a checksum list (sha256sum format).")
    parser.add_argument("folder", type=Path, help="folder the listed paths are relative to")
    parser.add_argument("checksums", type=Path, help="the checksum list to check against")
    parser.add_argument("--report-new", action="store_true", help="also list files that are not in the checksum list")
    args = parser.parse_args(argv)

    if not args.folder.is_dir():
        parser.error(f"{args.folder} is not a folder")
    if not args.checksums.is_file():
        parser.error(f"{args.checksums} is not a file")
    try:
        expected = read_list(args.checksums)
    except (ValueError, UnicodeDecodeError) as e:
        parser.error(f"{args.checksums}: {e}")
    ok = changed = missing = 0
    for name, checksum in sorted(expected.items()):
        path = args.folder / name
        if not path.is_file():
            print(f"MISSING  {name}")
            missing += 1
        elif digest(path, ALGORITHMS[len(checksum)]) != checksum:
            print(f"CHANGED  {name}")
            changed += 1
        else:
            ok += 1
    new = 0
    if args.report_new:
        listed = set(expected)
        own = args.checksums.resolve()
        for path in sorted(args.folder.rglob("*")):
            if path.is_file() and path.resolve() != own and path.relative_to(args.folder).as_posix() not in listed:
                print(f"NEW      {path.relative_to(args.folder).as_posix()}")
                new += 1
    print(f"{ok} ok, {changed} changed, {missing} missing" + (f", {new} new" if args.report_new else ""))
    return 1 if changed or missing else 0


if __name__ == "__main__":
    sys.exit(main())
