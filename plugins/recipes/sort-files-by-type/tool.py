"""Sort the files of a folder into subfolders by type: Images, Documents, Music ...

Only files directly in the folder move; subfolders are left alone. A file whose
name is taken in the destination gets a -1, -2 ... suffix, so nothing is overwritten.
"""

import argparse
import sys
from pathlib import Path

CATEGORIES = {
    "Images": {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".heic", ".svg", ".raw", ".cr2", ".nef"},
    "Videos": {".mp4", ".mov", ".avi", ".mkv", ".wmv", ".webm", ".m4v", ".mpg", ".mpeg"},
    "Music": {".mp3", ".wav", ".flac", ".aac", ".ogg", ".m4a", ".wma", ".opus"},
    "Documents": {".pdf", ".doc", ".docx", ".odt", ".rtf", ".txt", ".md", ".epub", ".pages"},
    "Spreadsheets": {".xls", ".xlsx", ".ods", ".csv", ".tsv", ".numbers"},
    "Presentations": {".ppt", ".pptx", ".odp", ".key"},
    "Archives": {".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar"},
    "Code": {".py", ".js", ".ts", ".html", ".css", ".json", ".xml", ".yaml", ".yml", ".sh", ".c", ".cpp", ".java", ".go", ".rs"},
    "Programs": {".exe", ".msi", ".dmg", ".pkg", ".deb", ".rpm", ".appimage", ".apk"},
}
OTHER = "Other"


def category(path: Path) -> str:
    suffix = path.suffix.lower()
    return next((name for name, suffixes in CATEGORIES.items() if suffix in suffixes), OTHER)


def free_name(target: Path) -> Path:
    """`target`, or the first of name-1.ext, name-2.ext ... that does not exist."""
    n = 1
    candidate = target
    while candidate.exists():
        candidate = target.with_name(f"{target.stem}-{n}{target.suffix}")
        n += 1
    return candidate


def main(argv=None):
    parser = argparse.ArgumentParser(description="Sort files into subfolders by type (Images, Documents, Music ...).")
    parser.add_argument("folder", type=Path, help="folder whose files to sort")
    parser.add_argument("--include-other", action="store_true", help="also move files of unknown type into an 'Other' folder")
    parser.add_argument("--dry-run", action="store_true", help="only print what would be moved")
    args = parser.parse_args(argv)

    if not args.folder.is_dir():
        parser.error(f"{args.folder} is not a folder")
    moved = {}
    for path in sorted(args.folder.iterdir()):
        if not path.is_file() or path.name.startswith("."):
            continue
        name = category(path)
        if name == OTHER and not args.include_other:
            continue
        destination = args.folder / name
        target = free_name(destination / path.name)
        print(f"{'would move' if args.dry_run else 'moved'} {path.name} -> {name}/{target.name}")
        if not args.dry_run:
            destination.mkdir(exist_ok=True)
            path.rename(target)
        moved[name] = moved.get(name, 0) + 1
    summary = ", ".join(f"{count} to {name}" for name, count in sorted(moved.items())) or "nothing to sort"
    print(f"{'would move' if args.dry_run else 'moved'}: {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
