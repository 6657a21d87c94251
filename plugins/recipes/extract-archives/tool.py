"""Extract every archive (.zip, .tar, .tar.gz, .tgz, .tar.bz2, .tar.xz) in a folder into its own subfolder.

photos.zip is unpacked into photos/. An archive whose folder already exists is
skipped, so running again only extracts new ones. An entry that would land outside
the target folder (absolute path, '..', a link out) is skipped and reported while
the rest of its archive is extracted; an archive that cannot be read is reported
and removed again rather than left half-extracted. The exit code is 1 only when
archives failed and none was extracted, so one bad archive does not undo the rest.
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


def extract_zip(path: Path, target: Path, unsafe: list[str]) -> int:
    """Extract the entries that stay inside target; append the others' names to unsafe."""
    with zipfile.ZipFile(path) as archive:
        root = target.resolve()
        count = 0
        for info in archive.infolist():
            if not (target / info.filename).resolve().is_relative_to(root):
                unsafe.append(info.filename)
                continue
            archive.extract(info, target)
            count += 1
        return count


def extract_tar(path: Path, target: Path, unsafe: list[str]) -> int:
    """Extract with tarfile's "data" filter, skipping (not failing on) what it refuses."""
    extracted = []

    def keep_safe(member: tarfile.TarInfo, dest: str) -> tarfile.TarInfo | None:
        try:
            member = tarfile.data_filter(member, dest)  # refuses absolute paths, '..' and links outside
        except tarfile.FilterError:
            unsafe.append(member.name)
            return None
        extracted.append(member.name)
        return member

    with tarfile.open(path) as archive:
        archive.extractall(target, filter=keep_safe)
    return len(extracted)


def extract(path: Path, target: Path, unsafe: list[str]) -> int:
    partial = target.with_name(f".{target.name}.extracting")
    try:
        partial.mkdir()
        extractor = extract_zip if zipfile.is_zipfile(path) else extract_tar
        count = extractor(path, partial, unsafe)
        partial.rename(target)
        return count
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Extract every archive in a folder into a subfolder of the same name.")
    parser.add_argument("folder", type=Path, help="folder containing the archives")
    parser.add_argument("--delete-archives", action="store_true", help="delete each archive after it was extracted completely")
    parser.add_argument("--dry-run", action="store_true", help="only print what would be extracted")
    args = parser.parse_args(argv)

    if not args.folder.is_dir():
        parser.error(f"{args.folder} is not a folder")
    done = skipped = failed = unsafe_total = 0
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
        unsafe = []
        try:
            count = extract(path, target, unsafe)
        except (zipfile.BadZipFile, tarfile.TarError, ValueError, OSError) as e:
            print(f"failed {path.name}: {e}")
            failed += 1
            continue
        print(f"extracted {path.name} -> {target.name}/ ({count} entries)")
        for name in unsafe:
            print(f"  skipped unsafe entry {name!r} (it would land outside {target.name}/)")
        unsafe_total += len(unsafe)
        if args.delete_archives and not unsafe:  # an archive with skipped entries is kept
            path.unlink()
        done += 1
    verb = "would extract" if args.dry_run else "extracted"
    print(f"{verb} {done} archive(s); skipped {skipped}; failed {failed}; unsafe entries skipped {unsafe_total}")
    return 1 if failed and not done else 0


if __name__ == "__main__":
    sys.exit(main())
