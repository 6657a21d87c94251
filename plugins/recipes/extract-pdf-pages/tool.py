"""Copy chosen pages of a PDF into a new PDF: "3-7", "1,4,9-12", "5-" (to the end).

Pages are counted from 1, in the order given. The new PDF is written under a
temporary name and renamed when complete; an existing file is never overwritten.
"""

import argparse
import re
import sys
from pathlib import Path

from pypdf import PdfReader, PdfWriter
from pypdf.errors import PdfReadError


def page_numbers(spec: str, total: int) -> list[int]:
    numbers = []
    for part in spec.replace(" ", "").split(","):
        match = re.fullmatch(r"(\d+)(?:-(\d*))?", part)
        if not match:
            raise ValueError(f"not a page range: {part!r} (try 3-7 or 1,4,9-12)")
        first = int(match.group(1))
        last = first if match.group(2) is None else int(match.group(2) or total)
        if not 1 <= first <= last <= total:
            raise ValueError(f"pages {part} are outside 1-{total}")
        numbers += range(first, last + 1)
    return numbers


def main(argv=None):
    parser = argparse.ArgumentParser(description="Extract some pages of a PDF into a new PDF.")
    parser.add_argument("file", type=Path, help="the PDF to take pages from")
    parser.add_argument("--pages", required=True, help="which pages, e.g. 3-7 or 1,4,9-12 or 5- (to the end)")
    parser.add_argument("--output", type=Path, required=True, help="the new PDF to write")
    args = parser.parse_args(argv)

    if not args.file.is_file():
        parser.error(f"{args.file} is not a file")
    if args.output.exists():
        parser.error(f"{args.output} already exists; choose another --output")
    try:
        reader = PdfReader(args.file)
        total = len(reader.pages)
    except (PdfReadError, OSError, ValueError) as e:
        parser.error(f"{args.file} is not a readable PDF: {e}")
    try:
        numbers = page_numbers(args.pages, total)
    except ValueError as e:
        parser.error(str(e))
    writer = PdfWriter()
    for number in numbers:
        writer.add_page(reader.pages[number - 1])
    partial = args.output.with_name(f".{args.output.name}.part")
    try:
        with partial.open("wb") as out:
            writer.write(out)
        partial.rename(args.output)
    finally:
        partial.unlink(missing_ok=True)
    print(f"wrote {len(numbers)} page(s) of {args.file.name} to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
