"""Count the lines of code in a project, per programming language: files, code, comment and blank lines.

The language comes from the file extension; folders such as .git, node_modules,
__pycache__ and virtual environments are skipped. A comment line is one that starts
with the language's line-comment marker (#, //, --, ;). Nothing is changed.
"""

import argparse
import json
import sys
from pathlib import Path

LANGUAGES = {
    "Python": ([".py", ".pyi"], "#"), "JavaScript": ([".js", ".mjs", ".cjs", ".jsx"], "//"),
    "TypeScript": ([".ts", ".tsx"], "//"), "Java": ([".java"], "//"), "C": ([".c", ".h"], "//"),
    "C++": ([".cpp", ".cc", ".cxx", ".hpp", ".hh"], "//"), "C#": ([".cs"], "//"), "Go": ([".go"], "//"),
    "Rust": ([".rs"], "//"), "Ruby": ([".rb"], "#"), "PHP": ([".php"], "//"), "Shell": ([".sh", ".bash", ".zsh"], "#"),
    "Swift": ([".swift"], "//"), "Kotlin": ([".kt", ".kts"], "//"), "SQL": ([".sql"], "--"), "Lua": ([".lua"], "--"),
    "HTML": ([".html", ".htm"], None), "CSS": ([".css", ".scss"], None), "Markdown": ([".md"], None),
    "YAML": ([".yml", ".yaml"], "#"), "TOML": ([".toml"], "#"), "Lisp": ([".el", ".lisp", ".clj"], ";"),
}
BY_EXTENSION = {ext: (name, marker) for name, (exts, marker) in LANGUAGES.items() for ext in exts}
SKIP = {".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", "venv", "env", ".tox", "dist", "build", "target"}


def main(argv=None):
    parser = argparse.ArgumentParser(description="Count lines of code per language.")
    parser.add_argument("folder", type=Path, help="the project folder")
    parser.add_argument("--json", action="store_true", help="print the counts as JSON")
    args = parser.parse_args(argv)

    if not args.folder.is_dir():
        parser.error(f"{args.folder} is not a folder")
    totals = {}
    for path in sorted(args.folder.rglob("*")):
        if not path.is_file() or SKIP & set(path.relative_to(args.folder).parts[:-1]):
            continue
        language, marker = BY_EXTENSION.get(path.suffix.lower(), (None, None))
        if language is None:
            continue
        row = totals.setdefault(language, {"files": 0, "code": 0, "comment": 0, "blank": 0})
        row["files"] += 1
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            stripped = line.strip()
            kind = "blank" if not stripped else "comment" if marker and stripped.startswith(marker) else "code"
            row[kind] += 1
    ordered = dict(sorted(totals.items(), key=lambda item: -item[1]["code"]))
    if args.json:
        print(json.dumps(ordered, indent=2))
        return 0
    print(f"{'language':<12} {'files':>6} {'code':>8} {'comment':>8} {'blank':>8}")
    for language, row in ordered.items():
        print(f"{language:<12} {row['files']:>6} {row['code']:>8} {row['comment']:>8} {row['blank']:>8}")
    total = {key: sum(row[key] for row in ordered.values()) for key in ("files", "code", "comment", "blank")}
    print(f"{'total':<12} {total['files']:>6} {total['code']:>8} {total['comment']:>8} {total['blank']:>8}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
