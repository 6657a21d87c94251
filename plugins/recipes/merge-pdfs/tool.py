"""Merge several PDF files (or every PDF in a folder, in file-name order) into one PDF.

Pages keep their order: file by file, as given on the command line. The result is
written under a temporary name and renamed when complete; an existing output file
is never overwritten. A file that is not a readable PDF stops the merge with its name.
"""

import argparse
import sys
from pathlib import Path

from pypdf import PdfReader, PdfWriter
from pypdf.errors import PdfReadError


def pdf_files(inputs: list[Path]) -> list[Path]:
    found = []
    for path in inputs:
        if path.is_dir():
            found += sorted((p for p in path.iterdir() if p.suffix.lower() == ".pdf" and p.is_file()), key=lambda p: p.name.lower())
        else:
            found.append(path)
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description="Merge PDF files into one.")
    parser.add_argument("inputs", type=Path, nargs="+", help="PDF files, or folders of PDF files, to merge in this order")
    parser.add_argument("--output", type=Path, required=True, help="the merged PDF to write")
    parser.add_argument("--dry-run", action="store_true", help="only print what would be merged")
    args = parser.parse_args(argv)

    missing = [p for p in args.inputs if not p.exists()]
    if missing:
        parser.error(f"{missing[0]} does not exist")
    if args.output.exists():
        parser.error(f"{args.output} already exists; choose another --output")
    files = [p for p in pdf_files(args.inputs) if p.resolve() != args.output.resolve()]
    if not files:
        parser.error("no PDF files to merge")
    writer = PdfWriter()
    for path in files:
        try:
            reader = PdfReader(path)
            pages = len(reader.pages)
        except (PdfReadError, OSError, ValueError) as e:
            parser.error(f"{path} is not a readable PDF: {e}")
        print(f"{'would add' if args.dry_run else 'adding'} {path.name} ({pages} page(s))")
        if not args.dry_run:
            writer.append(reader)
    if args.dry_run:
        return 0
    partial = args.output.with_name(f".{args.output.name}.part")
    try:
        with partial.open("wb") as out:
            writer.write(out)
        partial.rename(args.output)
    finally:
        partial.unlink(missing_ok=True)
    print(f"merged {len(files)} PDF(s), {len(writer.pages)} page(s), into {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
