"""Start-up cost of the light commands: `--version`, `--help`, `list`, `check FILE`.

    python benchmarks/startup.py [--runs N] [--compare OTHER_TOOLSMITH] [--json]

Reports the median wall time and the median CPU time (user + system of the child:
much steadier than wall time on a busy machine) of each command, and whether it
imported torch or httpx (it must not). With --compare, another `toolsmith`
executable (e.g. an older checkout's venv) runs interleaved with this one, and
the ratios this/other are printed.
"""

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEAVY = ("torch", "httpx")


def commands(source: Path) -> dict[str, list[str]]:
    return {"--version": ["--version"], "--help": ["--help"], "list": ["list"], "check FILE": ["check", str(source)]}


def timed(argv: list[str], env: dict) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, capture_output=True, env=env, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def heavy_imports(exe: str, args: list[str], env: dict) -> list[str]:
    python = Path(exe).with_name("python")
    done = subprocess.run([str(python), "-X", "importtime", "-m", "toolsmith.core.frontends.cli", *args],
                          capture_output=True, text=True, env=env)
    names = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    return sorted(set(HEAVY) & names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--compare", help="another toolsmith executable to run interleaved")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    this = shutil.which("toolsmith", path=str(Path(sys.executable).parent)) or "toolsmith"
    home = Path(tempfile.mkdtemp())
    source = home / "tool.py"
    source.write_text('def main():\n    print("hi")\n\n\nif __name__ == "__main__":\n    main()\n')
    env = {**os.environ, "TOOLSMITH_HOME": str(home)}
    exes = {"this": this, **({"other": args.compare} if args.compare else {})}
    samples = {(who, name): [] for who in exes for name in commands(source)}
    for _ in range(args.runs):
        for name, argv in commands(source).items():
            for who, exe in exes.items():
                samples[(who, name)].append(timed([exe, *argv], env))
    report = {}
    for name, argv in commands(source).items():
        row = {}
        for who in exes:
            walls, cpus = zip(*samples[(who, name)])
            row[f"{who}_wall_ms"] = round(statistics.median(walls) * 1000, 1)
            row[f"{who}_cpu_ms"] = round(statistics.median(cpus) * 1000, 1)
        row["imports_heavy"] = heavy_imports(this, argv, env)
        if args.compare:
            row["cpu_this_vs_other"] = round(row["this_cpu_ms"] / row["other_cpu_ms"], 3)
        report[name] = row
    shutil.rmtree(home, ignore_errors=True)
    if args.json:
        print(json.dumps(report, indent=1))
        return
    for name, row in report.items():
        print(f"{name:<12} " + "  ".join(f"{k} {v}" for k, v in row.items()))


if __name__ == "__main__":
    main()
