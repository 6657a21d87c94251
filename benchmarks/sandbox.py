"""What the sandbox costs: a command's start (goal: `sandbox exec -- python3 -c pass` under
30 ms over bare) and a previewed tool run over 1,000 files / 100 MB (goal: preview under
1 s beyond the tool's own time), with its apply and undo.

    python benchmarks/sandbox.py [--runs 30] [--files 1000] [--mb 100] [--json]

bench_exec() times, as medians of --runs runs, in milliseconds:
  bare        `python3 -c pass` run directly (the venv's interpreter)
  execute     the same command through `toolsmith.sandbox.execute()` (every layer)
  cli         `toolsmith sandbox exec -- python3 -c pass`, a fresh CLI process each time
  cli_start   `toolsmith --version`: the CLI's own start-up, included in `cli`
and the overheads execute - bare and cli - bare; each also as CPU time (`*_cpu_ms`),
which a busy machine disturbs far less than wall time.
bench_preview_apply_undo() reports seconds, in overlay and in copy mode (see its docstring).
Run it on an idle machine.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from toolsmith.sandbox.launcher import check_layers, execute
from toolsmith.sandbox.policy import Policy

TOOLSMITH = str(Path(sys.executable).with_name("toolsmith"))


def _medians_ms(actions: dict, runs: int) -> dict:
    """Median wall and CPU milliseconds of each action ("<name>_ms", "<name>_cpu_ms"). The
    actions take turns, so a change in the machine's load hits them all alike; the CPU
    time (of every process the action started) barely depends on that load at all."""
    for action in actions.values():
        action()  # warm the page cache
    wall = {name: [] for name in actions}
    cpu = {name: [] for name in actions}
    for _ in range(runs):
        for name, action in actions.items():
            before, start = _children_cpu(), time.perf_counter()
            action()
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(_children_cpu() - before)
    result = {f"{name}_ms": round(statistics.median(t) * 1000, 2) for name, t in wall.items()}
    result.update({f"{name}_cpu_ms": round(statistics.median(t) * 1000, 2) for name, t in cpu.items()})
    return result


def _children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def _run(argv: list[str]) -> None:
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)


def bench_exec(runs: int) -> dict:
    """Median wall time of a trivial command bare, through execute() and through the CLI."""
    inactive = [s.name for s in check_layers() if not s.active]
    python = str(Path(sys.executable).with_name("python3"))
    result = _medians_ms({
        "bare": lambda: _run([python, "-c", "pass"]),
        "execute": lambda: _check(execute(["python3", "-c", "pass"], Policy())),
        "cli": lambda: _run([TOOLSMITH, "sandbox", "exec", "--", "python3", "-c", "pass"]),
        "cli_start": lambda: _run([TOOLSMITH, "--version"]),
    }, runs)
    result.update(inactive_layers=inactive, runs=runs, cpus=os.cpu_count(), load=os.getloadavg()[0])
    result["execute_overhead_ms"] = round(result["execute_ms"] - result["bare_ms"], 2)
    result["execute_overhead_cpu_ms"] = round(result["execute_cpu_ms"] - result["bare_cpu_ms"], 2)
    result["cli_overhead_ms"] = round(result["cli_ms"] - result["bare_ms"], 2)
    return result


def _check(result) -> None:
    if result.exit_code != 0:
        raise SystemExit(f"the sandboxed command failed: {result.stderr.decode()}")


# ---------------------------------------------------------------- preview, apply and undo

PREVIEW_TOOL = r"""
import os, sys
files = sorted(os.listdir("."))
for i, name in enumerate(files):
    if i % 10 < 4:
        with open(name, "r+b") as f:
            f.write(b"edited!")
    elif i % 10 < 7:
        os.rename(name, "renamed-" + name)
    else:
        os.remove(name)
for i in range(len(files) // 10):
    with open(f"new-{i:04}.bin", "wb") as f:
        f.write(os.urandom(int(sys.argv[1])))
"""


def bench_preview_apply_undo(files: int = 1000, total_mb: int = 100, mode: str = "overlay") -> dict:
    """Seconds for a tool touching `files` files / `total_mb` MB (goal: preview under 1 s beyond the tool's own time).

    The tool rewrites 40% of the files, renames 30%, deletes 30% and creates 10% new.
    bare: the tool run directly on a copy; run: `runs.run(runs_folder())` with preview (layers,
    sandbox, tool, plan); overhead: run - bare; plan: computing the plan alone;
    apply, undo: `runs.apply(runs_folder())` and `runs.undo(runs_folder())` of that run. `mode` "copy" forces
    the degraded preview (a full copy instead of overlayfs).
    """
    import shutil
    import tempfile

    from toolsmith.core.tools.run_service import runs_folder
    from toolsmith.sandbox import launcher, plan
    from toolsmith.sandbox import run_store as runs

    size = total_mb * 1024 * 1024 // files
    saved_home, saved_mode = os.environ.get("TOOLSMITH_HOME"), launcher.overlay_mode
    with tempfile.TemporaryDirectory(prefix="toolsmith-bench-") as tmp:
        os.chmod(tmp, 0o755)
        os.environ["TOOLSMITH_HOME"] = os.path.join(tmp, "home")
        launcher.overlay_mode = lambda: mode
        try:
            bare_dir, folder = Path(tmp, "bare"), Path(tmp, "folder")
            _make_folder(bare_dir, files, size)
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", PREVIEW_TOOL, str(size)], cwd=bare_dir, check=True)
            bare = time.perf_counter() - start
            shutil.rmtree(bare_dir)
            _make_folder(folder, files, size)
            start = time.perf_counter()
            result = runs.run(runs_folder(), ["python3", "-c", PREVIEW_TOOL, str(size)], Policy(write_paths=[str(folder)], cwd=str(folder), timeout=300))
            run = time.perf_counter() - start
            _check(result)
            start = time.perf_counter()
            plan.compute(result.plan.layers)
            plan_s = time.perf_counter() - start
            start = time.perf_counter()
            runs.apply(runs_folder(), result.run_id)
            apply_s = time.perf_counter() - start
            start = time.perf_counter()
            runs.undo(runs_folder(), result.run_id)
            undo_s = time.perf_counter() - start
        finally:
            launcher.overlay_mode = saved_mode
            if saved_home is None:
                os.environ.pop("TOOLSMITH_HOME", None)
            else:
                os.environ["TOOLSMITH_HOME"] = saved_home
    seconds = {"bare": bare, "run": run, "overhead": run - bare, "plan": plan_s, "apply": apply_s, "undo": undo_s}
    return {"mode": mode, "files": files, "mb": total_mb, "changes": result.plan.counts(),
            "tool_wall": round(result.usage["wall_seconds"], 3), **{k: round(v, 3) for k, v in seconds.items()}}


def _make_folder(root: Path, files: int, size: int) -> None:
    """`files` random files; owned by the uid the sandbox drops to when we are root (overlayfs
    copies up only files that uid owns, as a user's own files are theirs)."""
    from toolsmith.sandbox.launcher import SANDBOX_UID

    root.mkdir()
    for i in range(files):
        (root / f"file-{i:04}.bin").write_bytes(os.urandom(size))
    if os.geteuid() == 0:
        for path in [root, *root.iterdir()]:
            os.chown(path, SANDBOX_UID, SANDBOX_UID)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--mb", type=int, default=100)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = {
        "exec": bench_exec(args.runs),
        "preview": [bench_preview_apply_undo(args.files, args.mb, mode) for mode in ("overlay", "copy")],
    }
    if args.json:
        print(json.dumps(results, indent=2))
        return
    r = results["exec"]
    print(f"python3 -c pass, median of {r['runs']} runs:")
    print(f"  bare                     {r['bare_ms']:8.2f} ms")
    print(f"  execute()                {r['execute_ms']:8.2f} ms  (+{r['execute_overhead_ms']:.2f} ms; "
          f"CPU +{r['execute_overhead_cpu_ms']:.2f} ms)")
    print(f"  toolsmith sandbox exec   {r['cli_ms']:8.2f} ms  (+{r['cli_overhead_ms']:.2f} ms; "
          f"CLI start-up alone {r['cli_start_ms']:.2f} ms)")
    if r["inactive_layers"]:
        print(f"  missing layers: {', '.join(r['inactive_layers'])}")
    for p in results["preview"]:
        print(f"preview of {p['files']} files / {p['mb']} MB ({p['mode']} mode), seconds: tool alone {p['bare']}, "
              f"previewed run {p['run']} (+{p['overhead']}), plan {p['plan']}, apply {p['apply']}, undo {p['undo']}")


if __name__ == "__main__":
    main()
