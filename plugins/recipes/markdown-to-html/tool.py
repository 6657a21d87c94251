"""Convert Markdown files (.md) to standalone HTML pages: notes.md becomes notes.html beside it.

Takes one file or every .md file in a folder. CommonMark with tables and
strikethrough; raw HTML inside the Markdown is shown as text unless --raw-html is
given. The page title is the first heading. Existing .html files are overwritten
only with --overwrite.
"""

import argparse
import html
import re
import sys
from pathlib import Path

from markdown_it import MarkdownIt

PAGE = """<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>body{{max-width:46em;margin:2em auto;padding:0 1em;font-family:sans-serif;line-height:1.5}}
pre{{background:#f4f4f4;padding:.8em;overflow:auto}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.3em .6em}}</style>
</head>
<body>
{body}</body>
</html>
"""


def main(argv=None):
    parser = argparse.ArgumentParser(description="Convert Markdown files to HTML pages.")
    parser.add_argument("path", type=Path, help="a .md file, or a folder whose .md files are converted")
    parser.add_argument("--raw-html", action="store_true", help="let HTML written inside the Markdown through as HTML")
    parser.add_argument("--overwrite", action="store_true", help="replace .html files that already exist")
    args = parser.parse_args(argv)

    if not args.path.exists():
        parser.error(f"{args.path} does not exist")
    paths = [args.path] if args.path.is_file() else sorted(args.path.rglob("*.md"))
    renderer = MarkdownIt("commonmark", {"html": args.raw_html}).enable(["table", "strikethrough"])
    written = 0
    for path in paths:
        target = path.with_suffix(".html")
        if target.exists() and not args.overwrite:
            print(f"skipped {path}: {target.name} exists (pass --overwrite to replace it)", file=sys.stderr)
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        heading = re.search(r"^#{1,6}\s+(.+?)\s*#*\s*$", text, re.MULTILINE)
        title = html.escape(heading.group(1) if heading else path.stem)
        partial = target.with_name(f".{target.name}.part")
        partial.write_text(PAGE.format(title=title, body=renderer.render(text)), encoding="utf-8")
        partial.replace(target)
        written += 1
        print(f"wrote {target}")
    print(f"converted {written} file(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
