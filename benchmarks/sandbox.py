"""What the sandbox costs a command (goal: `sandbox exec -- python3 -c pass` under 30 ms over bare).

    python benchmarks/sandbox.py [--runs 30] [--json]

bench_exec() times, as medians of --runs runs, in milliseconds:
  bare        `python3 -c pass` run directly (the venv's interpreter)
  execute     the same command through `toolsmith.sandbox.execute()` (every layer)
  cli         `toolsmith sandbox exec -- python3 -c pass`, a fresh CLI process each time
  cli_start   `toolsmith --version`: the CLI's own start-up, included in `cli`
and the overheads execute - bare and cli - bare. Run it on an idle machine.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from toolsmith.sandbox import Policy, check_layers, execute

TOOLSMITH = str(Path(sys.executable).with_name("toolsmith"))


def _median_ms(action, runs: int) -> float:
    action()  # warm the page cache
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return round(statistics.median(times) * 1000, 2)


def _run(argv: list[str]) -> None:
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)


def bench_exec(runs: int) -> dict:
    """Median wall time of a trivial command bare, through execute() and through the CLI."""
    inactive = [s.name for s in check_layers() if not s.active]
    python = str(Path(sys.executable).with_name("python3"))
    result = {
        "bare_ms": _median_ms(lambda: _run([python, "-c", "pass"]), runs),
        "execute_ms": _median_ms(lambda: _check(execute(["python3", "-c", "pass"], Policy())), runs),
        "cli_ms": _median_ms(lambda: _run([TOOLSMITH, "sandbox", "exec", "--", "python3", "-c", "pass"]), runs),
        "cli_start_ms": _median_ms(lambda: _run([TOOLSMITH, "--version"]), runs),
        "inactive_layers": inactive,
        "runs": runs,
        "cpus": os.cpu_count(),
    }
    result["execute_overhead_ms"] = round(result["execute_ms"] - result["bare_ms"], 2)
    result["cli_overhead_ms"] = round(result["cli_ms"] - result["bare_ms"], 2)
    return result


def _check(result) -> None:
    if result.exit_code != 0:
        raise SystemExit(f"the sandboxed command failed: {result.stderr.decode()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = {"exec": bench_exec(args.runs)}
    if args.json:
        print(json.dumps(results, indent=2))
        return
    r = results["exec"]
    print(f"python3 -c pass, median of {r['runs']} runs:")
    print(f"  bare                     {r['bare_ms']:8.2f} ms")
    print(f"  execute()                {r['execute_ms']:8.2f} ms  (+{r['execute_overhead_ms']:.2f} ms)")
    print(f"  toolsmith sandbox exec   {r['cli_ms']:8.2f} ms  (+{r['cli_overhead_ms']:.2f} ms; "
          f"CLI start-up alone {r['cli_start_ms']:.2f} ms)")
    if r["inactive_layers"]:
        print(f"  missing layers: {', '.join(r['inactive_layers'])}")


if __name__ == "__main__":
    main()
