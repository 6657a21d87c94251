"""Move the files of a folder whose names match a pattern ('*.pdf', 'invoice*') or a type (images, videos ...) into another folder.

A name already taken in the destination gets -1, -2 ... instead of being
overwritten; symbolic links stay where they are. Several patterns can be given
separated by commas ('*.jpg,*.png'). Try --dry-run first.
"""

import argparse
import fnmatch
import shutil
import sys
from pathlib import Path

TYPES = {
    "images": "*.jpg,*.jpeg,*.png,*.gif,*.webp,*.bmp,*.tif,*.tiff,*.heic",
    "videos": "*.mp4,*.mov,*.mkv,*.avi,*.webm,*.m4v",
    "music": "*.mp3,*.flac,*.wav,*.m4a,*.ogg,*.aac",
    "documents": "*.pdf,*.doc,*.docx,*.odt,*.txt,*.rtf,*.md",
    "spreadsheets": "*.xls,*.xlsx,*.ods,*.csv",
    "archives": "*.zip,*.tar,*.gz,*.tgz,*.bz2,*.xz,*.7z,*.rar",
}


def free_name(target: Path) -> Path:
    candidate, n = target, 1
    while candidate.exists():
        candidate, n = target.with_name(f"{target.stem}-{n}{target.suffix}"), n + 1
    return candidate


def main(argv=None):
    parser = argparse.ArgumentParser(description="Move the files matching a pattern or type into a folder.")
    parser.add_argument("folder", type=Path, help="the folder to take the files from")
    parser.add_argument("destination", type=Path, help="the folder to move them into (made if missing)")
    parser.add_argument("--match", default="", help="file-name patterns, comma-separated, e.g. '*.pdf' or 'invoice*,receipt*'")
    parser.add_argument("--type", choices=sorted(TYPES), help="move every file of this type instead of naming patterns")
    parser.add_argument("--recursive", action="store_true", help="also take matching files from subfolders")
    parser.add_argument("--dry-run", action="store_true", help="only list the files that would move")
    args = parser.parse_args(argv)

    if not args.folder.is_dir():
        parser.error(f"{args.folder} is not a folder")
    if bool(args.match) == bool(args.type):
        parser.error("give either --match PATTERNS or --type TYPE")
    patterns = [p.strip().lower() for p in (args.match or TYPES[args.type]).split(",") if p.strip()]
    destination = args.destination.resolve()
    candidates = args.folder.rglob("*") if args.recursive else args.folder.iterdir()
    moved = 0
    for path in sorted(candidates):
        if path.is_symlink() or not path.is_file() or destination in path.resolve().parents:
            continue
        if not any(fnmatch.fnmatchcase(path.name.lower(), p) for p in patterns):
            continue
        moved += 1
        if args.dry_run:
            print(f"would move {path.relative_to(args.folder)}")
            continue
        destination.mkdir(parents=True, exist_ok=True)
        target = free_name(destination / path.name)
        shutil.move(str(path), str(target))
        print(f"moved {path.relative_to(args.folder)} -> {target.name}")
    print(f"{'would move' if args.dry_run else 'moved'} {moved} file(s) into {args.destination}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
