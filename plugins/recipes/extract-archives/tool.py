"""Extract every archive (.zip, .tar, .tar.gz, .tgz, .tar.bz2, .tar.xz) in a folder into its own subfolder.

photos.zip is unpacked into photos/. An archive whose folder already exists is
skipped, so running again only extracts new ones. Entries that would land outside
the target folder (absolute paths, '..', links) are refused, and an archive that
fails is removed again rather than left half-extracted.
"""

import argparse
import shutil
import sys
import tarfile
import zipfile
from pathlib import Path

SUFFIXES = (".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".tbz2", ".txz", ".tar", ".zip")


def archive_stem(path: Path) -> str | None:
    name = path.name.lower()
    suffix = next((s for s in SUFFIXES if name.endswith(s)), None)
    return path.name[: -len(suffix)] if suffix else None


def extract_zip(path: Path, target: Path) -> int:
    with zipfile.ZipFile(path) as archive:
        root = target.resolve()
        for info in archive.infolist():
            destination = (target / info.filename).resolve()
            if not destination.is_relative_to(root):
                raise ValueError(f"unsafe entry {info.filename!r}")
        archive.extractall(target)
        return len(archive.infolist())


def extract_tar(path: Path, target: Path) -> int:
    with tarfile.open(path) as archive:
        members = archive.getmembers()
        archive.extractall(target, filter="data")  # refuses absolute paths, '..' and links outside
        return len(members)


def extract(path: Path, target: Path) -> int:
    partial = target.with_name(f".{target.name}.extracting")
    try:
        partial.mkdir()
        count = extract_zip(path, partial) if zipfile.is_zipfile(path) else extract_tar(path, partial)
        partial.rename(target)
        return count
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Extract every archive in a folder into a subfolder of the same name.")
    parser.add_argument("folder", type=Path, help="folder containing the archives")
    parser.add_argument("--delete-archives", action="store_true", help="delete each archive after it was extracted successfully")
    parser.add_argument("--dry-run", action="store_true", help="only print what would be extracted")
    args = parser.parse_args(argv)

    if not args.folder.is_dir():
        parser.error(f"{args.folder} is not a folder")
    done = skipped = failed = 0
    for path in sorted(args.folder.iterdir()):
        stem = archive_stem(path)
        if not path.is_file() or not stem:
            continue
        target = args.folder / stem
        if target.exists():
            print(f"skipped {path.name}: {target.name}/ already exists")
            skipped += 1
            continue
        if args.dry_run:
            print(f"would extract {path.name} -> {target.name}/")
            done += 1
            continue
        try:
            count = extract(path, target)
        except (zipfile.BadZipFile, tarfile.TarError, ValueError, OSError) as e:
            print(f"failed {path.name}: {e}")
            failed += 1
            continue
        print(f"extracted {path.name} -> {target.name}/ ({count} entries)")
        if args.delete_archives:
            path.unlink()
        done += 1
    verb = "would extract" if args.dry_run else "extracted"
    print(f"{verb} {done} archive(s); skipped {skipped}; failed {failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
