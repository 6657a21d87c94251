"""Split a PDF into one PDF per page (report-001.pdf, report-002.pdf ...), or into parts of N pages.

Parts are written to the output folder under a temporary name and renamed when
complete; existing parts are never overwritten.
"""

import argparse
import sys
from pathlib import Path

from pypdf import PdfReader, PdfWriter
from pypdf.errors import PdfReadError


def main(argv=None):
    parser = argparse.ArgumentParser(description="Split a PDF into single pages or parts of N pages.")
    parser.add_argument("file", type=Path, help="the PDF to split")
    parser.add_argument("output", type=Path, help="folder for the parts (made if missing)")
    parser.add_argument("--pages", type=int, default=1, help="pages per part (default %(default)s: one file per page)")
    parser.add_argument("--dry-run", action="store_true", help="only print the parts that would be written")
    args = parser.parse_args(argv)

    if not args.file.is_file():
        parser.error(f"{args.file} is not a file")
    if args.pages < 1:
        parser.error("--pages must be 1 or more")
    try:
        reader = PdfReader(args.file)
        total = len(reader.pages)
    except (PdfReadError, OSError, ValueError) as e:
        parser.error(f"{args.file} is not a readable PDF: {e}")
    starts = list(range(0, total, args.pages))
    digits = max(3, len(str(len(starts))))
    targets = [args.output / f"{args.file.stem}-{n:0{digits}d}.pdf" for n in range(1, len(starts) + 1)]
    clash = next((t for t in targets if t.exists()), None)
    if clash:
        parser.error(f"{clash} already exists; remove the old parts or choose another folder")
    if args.dry_run:
        for target, start in zip(targets, starts):
            print(f"would write {target} (pages {start + 1}-{min(start + args.pages, total)})")
        return 0
    args.output.mkdir(parents=True, exist_ok=True)
    for target, start in zip(targets, starts):
        writer = PdfWriter()
        for page in reader.pages[start:start + args.pages]:
            writer.add_page(page)
        partial = target.with_name(f".{target.name}.part")
        with partial.open("wb") as out:
            writer.write(out)
        partial.rename(target)
        print(f"wrote {target.name}")
    print(f"split {args.file.name} ({total} pages) into {len(targets)} file(s) in {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
