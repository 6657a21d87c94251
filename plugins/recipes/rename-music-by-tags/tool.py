"""Rename music files from their tags (ID3, Vorbis, MP4): "Artist - Title.mp3", or any --pattern.

Placeholders: {artist} {album} {title} {track} (two digits) {year}. Files without the
tags a pattern needs are skipped and listed; characters not allowed in file names
become '_'; a name already taken gets -1, -2 ... instead of overwriting.
"""

import argparse
import re
import string
import sys
from pathlib import Path

import mutagen

AUDIO = {".mp3", ".flac", ".ogg", ".oga", ".opus", ".m4a", ".mp4", ".aac", ".wma", ".wv", ".ape"}
FIELDS = {"artist", "album", "title", "track", "year"}


def tags_of(path: Path) -> dict:
    try:
        audio = mutagen.File(path, easy=True)
    except mutagen.MutagenError:
        return {}
    if audio is None or not audio.tags:
        return {}
    first = {key: str(values[0]).strip() for key, values in audio.tags.items() if values and str(values[0]).strip()}
    track = re.match(r"\d+", first.get("tracknumber", ""))
    year = re.match(r"\d{4}", first.get("date", ""))
    found = {"artist": first.get("artist"), "album": first.get("album"), "title": first.get("title"),
             "track": f"{int(track.group(0)):02d}" if track else None, "year": year.group(0) if year else None}
    return {key: value for key, value in found.items() if value}


def safe(text: str) -> str:
    return re.sub(r'[\\/:*?"<>|\x00-\x1f]', "_", text).strip(" .") or "_"


def free_name(target: Path) -> Path:
    candidate, n = target, 1
    while candidate.exists():
        candidate, n = target.with_name(f"{target.stem}-{n}{target.suffix}"), n + 1
    return candidate


def main(argv=None):
    parser = argparse.ArgumentParser(description="Rename music files from their tags.")
    parser.add_argument("folder", type=Path, help="the folder of music files")
    parser.add_argument("--pattern", default="{artist} - {title}", help="the new name without extension (default %(default)r)")
    parser.add_argument("--recursive", action="store_true", help="also rename files in subfolders")
    parser.add_argument("--dry-run", action="store_true", help="only print the new names")
    args = parser.parse_args(argv)

    if not args.folder.is_dir():
        parser.error(f"{args.folder} is not a folder")
    needed = {name for _, name, _, _ in string.Formatter().parse(args.pattern) if name is not None}
    if not needed or needed - FIELDS:
        parser.error(f"--pattern uses unknown placeholder(s) {sorted(needed - FIELDS) or '(none)'}; use {sorted(FIELDS)}")
    candidates = args.folder.rglob("*") if args.recursive else args.folder.iterdir()
    renamed = skipped = 0
    for path in sorted(p for p in candidates if p.is_file() and p.suffix.lower() in AUDIO):
        tags = tags_of(path)
        if needed - set(tags):
            skipped += 1
            print(f"skipped {path.name}: no {', '.join(sorted(needed - set(tags)))} tag")
            continue
        name = safe(args.pattern.format(**{key: safe(value) for key, value in tags.items()})) + path.suffix.lower()
        if name == path.name:
            continue
        target = free_name(path.with_name(name))
        renamed += 1
        print(f"{path.name} -> {target.name}" if args.dry_run else f"renamed {path.name} -> {target.name}")
        if not args.dry_run:
            path.rename(target)
    print(f"{'would rename' if args.dry_run else 'renamed'} {renamed} file(s), skipped {skipped}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
