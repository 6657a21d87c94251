"""Live development latencies: checks as you type, trigger runs, plugin reloads.

Usage: python benchmarks/live.py [--json] [--rounds N]

- checks: `check_source` on every built-in recipe (what the language server runs
  after each pause in typing), and for comparison a full tree-sitter parse against
  an incremental re-parse after a one-character edit, to show whether incremental
  parsing would pay for tool-sized files.
- trigger: from the last of 50 files written to the run's plan being ready
  (debounce included, sandbox preview included).
- reload: from a plugin file written to its new version being registered.

Run it on an idle machine; timings taken while other work runs are noise.
"""

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

TRIGGER_DEBOUNCE_MS = 100
RELOAD_QUIET_MS = 50


def _ms(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {"median_ms": round(statistics.median(ordered) * 1000, 3), "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 3)}


def measure_checks(rounds: int) -> dict:
    from toolsmith.core.base.config import ChecksConfig
    from toolsmith.core.tools.checks import check_source
    from toolsmith.core.tools.recipes import recipes
    from toolsmith.core.tools.treesitter import parser

    settings = ChecksConfig()
    checks, full, incremental = [], [], []
    catalog = list(recipes().values())
    for recipe in catalog:
        source, language = recipe.source, recipe.manifest.language
        data = source.encode()
        middle = len(data) // 2
        edited = data[:middle] + b" " + data[middle:]
        row, column = data[:middle].count(b"\n"), middle - (data.rfind(b"\n", 0, middle) + 1)
        for _ in range(rounds):
            started = time.perf_counter()
            check_source(source, recipe.manifest, language, settings)
            checks.append(time.perf_counter() - started)

            started = time.perf_counter()
            tree = parser(language).parse(edited)
            full.append(time.perf_counter() - started)

            tree = parser(language).parse(data)
            tree.edit(middle, middle, middle + 1, (row, column), (row, column), (row, column + 1))
            started = time.perf_counter()
            parser(language).parse(edited, tree)
            incremental.append(time.perf_counter() - started)
    sizes = [len(r.source.encode()) for r in catalog]
    return {
        "recipes": len(catalog),
        "source_bytes_median": int(statistics.median(sizes)),
        "check_source": _ms(checks),
        "parse_full": _ms(full),
        "parse_incremental": _ms(incremental),
    }


INDEX_TOOL = """import argparse
import pathlib


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("folder")
    folder = pathlib.Path(parser.parse_args(argv).folder)
    (folder / "INDEX").write_text("".join(p.name + "\\n" for p in sorted(folder.glob("*.txt"))))


if __name__ == "__main__":
    main()
"""


async def _trigger_round(folder: Path, n: int) -> float:
    from toolsmith.core.frontends.live.watch import Previewed, Watcher, Watching, resolve_trigger
    from toolsmith.core.tools.library import Library

    events: asyncio.Queue = asyncio.Queue()
    trigger = resolve_trigger(Library().load("index"), str(folder), None, debounce_ms=TRIGGER_DEBOUNCE_MS, patterns=["*.txt"])
    stop = asyncio.Event()
    task = asyncio.create_task(Watcher("index", trigger, on_event=events.put_nowait).run(stop))
    assert isinstance(await events.get(), Watching)
    for i in range(50):
        (folder / f"round{n}-{i:02d}.txt").write_text("x\n")
    written = time.perf_counter()
    while not isinstance(await asyncio.wait_for(events.get(), 120), Previewed):
        pass
    elapsed = time.perf_counter() - written
    stop.set()
    await task
    return elapsed


def measure_trigger(rounds: int) -> dict:
    from toolsmith.core.base.manifest import Manifest, Parameter, now
    from toolsmith.core.tools.library import Library
    from toolsmith.sandbox.launcher import SANDBOX_UID

    stamp = now()
    folder_parameter = Parameter(name="folder", kind="dir", access="write", positional=True, required=True)
    Library().save(Manifest(name="index", description="index", parameters=[folder_parameter], created=stamp, updated=stamp), INDEX_TOOL)
    folder = Path(tempfile.mkdtemp(prefix="toolsmith-bench-"))
    if os.geteuid() == 0:
        os.chown(folder, SANDBOX_UID, SANDBOX_UID)
    samples = [asyncio.run(_trigger_round(folder, n)) for n in range(rounds)]
    return {"files_per_burst": 50, "debounce_ms": TRIGGER_DEBOUNCE_MS, "burst_to_plan": _ms(samples)}


async def _reload_rounds(rounds: int) -> list[float]:
    from toolsmith.core.base import paths
    from toolsmith.core.frontends.live.reload import Loaded, Reloader, Watching

    events: asyncio.Queue = asyncio.Queue()
    reloader = Reloader(events.put_nowait, quiet_ms=RELOAD_QUIET_MS)
    reloader.load_all()
    stop = asyncio.Event()
    task = asyncio.create_task(reloader.run(stop))
    assert isinstance(await events.get(), Watching)
    samples = []
    for n in range(rounds):
        (paths.plugins_dir() / "bench.py").write_text(f"VERSION = {n}\n")
        written = time.perf_counter()
        assert isinstance(await asyncio.wait_for(events.get(), 60), Loaded)
        samples.append(time.perf_counter() - written)
    stop.set()
    await task
    return samples


def measure_reload(rounds: int) -> dict:
    return {"quiet_ms": RELOAD_QUIET_MS, "write_to_registered": _ms(asyncio.run(_reload_rounds(rounds)))}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    os.environ["TOOLSMITH_HOME"] = tempfile.mkdtemp(prefix="toolsmith-bench-home-")
    results = {
        "checks": measure_checks(max(args.rounds * 4, 10)),
        "trigger": measure_trigger(args.rounds),
        "reload": measure_reload(args.rounds),
    }
    if args.json:
        json.dump(results, sys.stdout, indent=2)
        print()
        return
    c, t, r = results["checks"], results["trigger"], results["reload"]
    print(f"checks on {c['recipes']} recipes (median {c['source_bytes_median']} bytes):")
    for key in ("check_source", "parse_full", "parse_incremental"):
        print(f"  {key:<18} median {c[key]['median_ms']:8.3f} ms   p95 {c[key]['p95_ms']:8.3f} ms")
    print(f"trigger, 50 files, debounce {t['debounce_ms']} ms: plan ready {t['burst_to_plan']['median_ms']:.0f} ms after the last file (median)")
    print(f"reload, quiet {r['quiet_ms']} ms: plugin registered {r['write_to_registered']['median_ms']:.0f} ms after the write (median)")


if __name__ == "__main__":
    main()
