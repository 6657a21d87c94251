"""How long the checks take on a realistic 300-line Python tool (goal: median under 5 ms).

Every generated tool passes these checks before it is saved, and the forge may
check several drafts per request, so they must stay cheap next to generation.

    python benchmarks/check.py [--runs 300] [--json]

Prints the median and 95th percentile of `check_source` (compile, one tree-sitter
parse, every query, plugin hooks) and of its two main parts.
"""

import argparse
import json
import statistics
import time

from toolsmith.core.base.config import ChecksConfig
from toolsmith.core.base.manifest import Manifest, now
from toolsmith.core.tools.checks import check_source
from toolsmith.core.tools.treesitter import ParsedSource
from toolsmith.plugins.python.checks import compile_diagnostics

HEADER = '''\
"""Organize a folder of downloads: sort files into subfolders by type and date,
report duplicates, and write a CSV inventory of what moved where."""

import argparse
import csv
import datetime as dt
import hashlib
import json
import logging
import re
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("organize")

CATEGORIES = {
    "images": {".jpg", ".jpeg", ".png", ".gif", ".webp", ".heic"},
    "documents": {".pdf", ".docx", ".odt", ".txt", ".md"},
    "archives": {".zip", ".tar", ".gz", ".7z"},
    "audio": {".mp3", ".flac", ".ogg", ".wav"},
}


@dataclass
class Move:
    source: Path
    target: Path
    size: int
    digest: str = ""
    notes: list[str] = field(default_factory=list)
'''

HELPER = '''
def {name}(path: Path, seen: dict[str, Path], counts: Counter) -> Move | None:
    """Plan where {kind} files go; skip duplicates already seen."""
    if path.suffix.lower() not in CATEGORIES["{category}"]:
        return None
    stat = path.stat()
    when = dt.datetime.fromtimestamp(stat.st_mtime)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest in seen:
        log.info("duplicate of %s: %s", seen[digest], path)
        counts["duplicates"] += 1
        return None
    seen[digest] = path
    clean = re.sub(r"[^A-Za-z0-9._-]+", "_", path.stem).strip("_") or "file"
    target = Path("{category}") / f"{{when:%Y}}" / f"{{when:%m}}" / f"{{clean}}{{path.suffix.lower()}}"
    counts["{category}"] += 1
    return Move(path, target, stat.st_size, digest)
'''

FOOTER = '''
def write_inventory(moves: list[Move], output: Path) -> None:
    with output.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["source", "target", "bytes", "sha256"])
        for move in moves:
            writer.writerow([move.source, move.target, move.size, move.digest])


def git_note(folder: Path) -> str:
    result = subprocess.run(["git", "-C", str(folder), "status", "--short"], capture_output=True, text=True)
    return result.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", type=Path, help="folder to organize")
    parser.add_argument("--output-dir", type=Path, required=True, help="where sorted files go")
    parser.add_argument("--inventory", type=Path, default=Path("inventory.csv"))
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("-v", "--verbose", action="count", default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO)
    seen: dict[str, Path] = {{}}
    counts: Counter = Counter()
    moves: list[Move] = []
    planners = [{planners}]
    for path in sorted(p for p in args.folder.rglob("*") if p.is_file()):
        for plan in planners:
            move = plan(path, seen, counts)
            if move is not None:
                moves.append(move)
                break
    for move in moves:
        target = args.output_dir / move.target
        if args.dry_run:
            print(f"{{move.source}} -> {{target}}")
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(move.source, target)
    write_inventory(moves, args.inventory)
    print(json.dumps(dict(counts), indent=2), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
'''


def realistic_tool(lines: int = 300) -> str:
    """A valid tool of about `lines` lines: a header, many planner functions, main."""
    helpers, names = [], []
    kinds = [("images", "photo"), ("documents", "document"), ("archives", "archive"), ("audio", "music")]
    while len((HEADER + "".join(helpers) + FOOTER).splitlines()) < lines:
        category, kind = kinds[len(helpers) % len(kinds)]
        name = f"plan_{kind}_{len(helpers)}"
        names.append(name)
        helpers.append(HELPER.format(name=name, kind=kind, category=category))
    return HEADER + "".join(helpers) + FOOTER.format(planners=", ".join(names))


def timed(functions: dict, runs: int) -> dict[str, list[float]]:
    """Milliseconds per call of each function, taken in turn so that load hits all alike."""
    samples = {name: [] for name in functions}
    for function in functions.values():
        function()  # warm up: queries compile once per process
    for _ in range(runs):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            samples[name].append((time.perf_counter() - start) * 1000)
    return samples


def summary(samples: list[float]) -> dict:
    return {
        "median_ms": round(statistics.median(samples), 3),
        "p95_ms": round(statistics.quantiles(samples, n=20)[-1], 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args()
    source = realistic_tool()
    manifest = Manifest(name="organize", description="organize downloads", created=now(), updated=now())
    settings = ChecksConfig()
    found = check_source(source, manifest, "python", settings)
    assert found == [], [d.render() for d in found]  # the benchmark must time a clean pass
    samples = timed({
        "check_source": lambda: check_source(source, manifest, "python", settings),
        "compile": lambda: compile_diagnostics(source),
        "tree_sitter_parse": lambda: ParsedSource(source, "python"),
    }, args.runs)
    results = {
        "source_lines": len(source.splitlines()),
        **{name: summary(times) for name, times in samples.items()},
        "runs": args.runs,
        "goal_ms": 5.0,
    }
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"checking a {results['source_lines']}-line Python tool ({args.runs} runs, goal < 5 ms median):")
    for part in ("check_source", "compile", "tree_sitter_parse"):
        print(f"  {part:<18} median {results[part]['median_ms']:7.3f} ms   p95 {results[part]['p95_ms']:7.3f} ms")


if __name__ == "__main__":
    main()
