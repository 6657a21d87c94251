import argparse
import shutil
import sys
import zipfile
from pathlib import Path


def add_folder(archive: zipfile.ZipFile, folder: Path) -> int:
    count = 0
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            archive.write(path, path.relative_to(folder.parent))
            count += 1
    return count


def main():
    parser = argparse.ArgumentParser(description="Zip a folder, keeping a copy of the last archive.")
    parser.add_argument("source_dir", type=Path)
    parser.add_argument("archive", type=Path, help="zip file to write")
    parser.add_argument("--keep-previous", action="store_true")
    args = parser.parse_args()
    if not args.source_dir.is_dir():
        sys.exit(f"not a folder: {args.source_dir}")
    if args.keep_previous and args.archive.exists():
        shutil.copy2(args.archive, args.archive.with_suffix(".previous.zip"))
    with zipfile.ZipFile(args.archive, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        count = add_folder(archive, args.source_dir)
    print(f"added {count} files to {args.archive}")


if __name__ == "__main__":
    main()
