"""CLI start-up with many old runs: `toolsmith runs --limit 20` with 0 and with N runs kept.

Before, every start scanned every run (recovery read each run's journals); now only the
runs marked active or applied are read. Prints the medians, the difference and JSON.

    python benchmarks/runs_startup.py [--runs 10000] [--repeat 7]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RECORD = {"run_id": "", "command": ["python3", "tool.py"], "created": "2025-01-01T00:00:00Z", "write_paths": ["/tmp/x"],
          "preview": True, "exit_code": 0, "plan": {"layers": [], "changes": []}}


def populate(home: Path, count: int) -> None:
    runs = home / "data" / "runs"
    runs.mkdir(parents=True)
    for i in range(count):
        run_id = f"20250101-{i // 3600 % 24:02}{i // 60 % 60:02}{i % 60:02}-{i % 65536:04x}"
        folder = runs / run_id
        folder.mkdir()
        (folder / "run.json").write_text(json.dumps({**RECORD, "run_id": run_id}))
        (folder / "apply.journal").write_text('{"begin": "apply", "run": "%s", "private": []}\n{"commit": true, "stamps": {}}\n' % run_id)


def median_start(home: Path, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "toolsmith.core.frontends.cli", "runs", "--limit", "20"], check=True, capture_output=True,
                       env={**os.environ, "TOOLSMITH_HOME": str(home)})
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        empty, full = Path(tmp) / "empty", Path(tmp) / "full"
        populate(empty, 0)
        populate(full, args.runs)
        base, many = median_start(empty, args.repeat), median_start(full, args.repeat)
    print(f"toolsmith runs: {base * 1000:.1f} ms with no runs, {many * 1000:.1f} ms with {args.runs:,} runs (+{(many - base) * 1000:.1f} ms)")
    print(json.dumps({"runs": args.runs, "empty_ms": round(base * 1000, 1), "many_ms": round(many * 1000, 1),
                      "added_ms": round((many - base) * 1000, 1), "ratio": round(many / base, 3)}))


if __name__ == "__main__":
    main()
