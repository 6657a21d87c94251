"""Write index.md: a list of links to the Markdown notes in a folder, by their titles.

A note's title is its first `# ` heading, else its file name. The index never
lists itself, and running the tool again over the same notes writes the same file.
"""

import argparse
from pathlib import Path

INDEX = "index.md"


def title_of(note: Path) -> str:
    for line in note.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return note.stem


def main(argv=None):
    parser = argparse.ArgumentParser(description="Write index.md listing the Markdown notes in a folder.")
    parser.add_argument("folder", type=Path, help="folder of Markdown notes")
    parser.add_argument("--title", default="Notes", help="heading at the top of the index")
    args = parser.parse_args(argv)
    notes = [(title_of(p), p.name) for p in args.folder.glob("*.md") if p.name != INDEX]
    lines = [f"# {args.title}", ""] + [f"- [{title}]({name})" for title, name in sorted(notes, key=lambda n: (n[0].lower(), n[1]))]
    (args.folder / INDEX).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"indexed {len(notes)} notes in {args.folder / INDEX}")


if __name__ == "__main__":
    main()
