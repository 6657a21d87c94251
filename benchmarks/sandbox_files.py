"""Preview, apply and undo of a tool that touches 1,000 files / 100 MB
(goal: preview under 1 s beyond the tool's own time).

    python benchmarks/sandbox_files.py [--files 1000] [--mb 100] [--mode overlay|copy|both] [--json]

The tool rewrites 40% of the files, renames 30%, deletes 30% and creates 100 new
ones, all inside one folder. Reported, in seconds:
  bare        the same tool run directly on a copy, no sandbox
  run         `runs.run()` with preview: layers, sandbox, tool, plan
  overhead    run - bare: what preview costs beyond the tool's own time
  plan        computing the plan alone (from the layers the run left)
  apply/undo  `runs.apply()` and `runs.undo()` of that run
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOOL = r"""
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
size = int(sys.argv[1])
for i in range(len(files) // 10):
    with open(f"new-{i:04}.bin", "wb") as f:
        f.write(os.urandom(size))
"""


def make_folder(root: Path, files: int, size: int) -> None:
    root.mkdir(parents=True)
    for i in range(files):
        (root / f"file-{i:04}.bin").write_bytes(os.urandom(size))


def bench_preview_apply_undo(files: int = 1000, total_mb: int = 100, mode: str = "overlay") -> dict:
    """One preview/apply/undo cycle in a fresh TOOLSMITH_HOME; seconds per stage."""
    from toolsmith.sandbox import Policy, launcher, plan, runs

    size = total_mb * 1024 * 1024 // files
    with tempfile.TemporaryDirectory(prefix="toolsmith-bench-") as tmp:
        tmp_path = Path(tmp)
        tmp_path.chmod(0o755)
        os.environ["TOOLSMITH_HOME"] = str(tmp_path / "home")
        bare_dir, folder = tmp_path / "bare", tmp_path / "folder"
        make_folder(bare_dir, files, size)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", TOOL, str(size)], cwd=bare_dir, check=True)
        bare = time.perf_counter() - start
        shutil.rmtree(bare_dir)

        make_folder(folder, files, size)
        if os.geteuid() == 0:  # the files must be writable by the uid the sandbox drops to
            for path in [folder, *folder.iterdir()]:
                os.chown(path, launcher.SANDBOX_UID, launcher.SANDBOX_UID)
        real_mode = launcher.overlay_mode
        launcher.overlay_mode = lambda: mode
        try:
            start = time.perf_counter()
            result = runs.run(["python3", "-c", TOOL, str(size)], Policy(write_paths=[str(folder)], cwd=str(folder), timeout=300))
            run = time.perf_counter() - start
        finally:
            launcher.overlay_mode = real_mode
        assert result.exit_code == 0, result.stderr.decode()
        start = time.perf_counter()
        plan.compute(result.plan.layers)
        plan_seconds = time.perf_counter() - start
        start = time.perf_counter()
        runs.apply(result.run_id)
        apply_seconds = time.perf_counter() - start
        start = time.perf_counter()
        runs.undo(result.run_id)
        undo_seconds = time.perf_counter() - start
    return {
        "mode": mode,
        "files": files,
        "mb": total_mb,
        "changes": result.plan.counts(),
        "bare": round(bare, 3),
        "tool_wall": round(result.usage["wall_seconds"], 3),
        "run": round(run, 3),
        "overhead": round(run - bare, 3),
        "plan": round(plan_seconds, 3),
        "apply": round(apply_seconds, 3),
        "undo": round(undo_seconds, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--mb", type=int, default=100)
    parser.add_argument("--mode", choices=["overlay", "copy", "both"], default="both")
    parser.add_argument("--json", action="store_true", help="Print only JSON.")
    args = parser.parse_args()
    modes = ["overlay", "copy"] if args.mode == "both" else [args.mode]
    results = [bench_preview_apply_undo(args.files, args.mb, mode) for mode in modes]
    if not args.json:
        for r in results:
            print(f"{r['mode']:>7}: {r['files']} files / {r['mb']} MB {r['changes']}")
            print(f"         bare {r['bare']:.3f} s, run with preview {r['run']:.3f} s (overhead {r['overhead']:.3f} s, plan alone {r['plan']:.3f} s)")
            print(f"         apply {r['apply']:.3f} s, undo {r['undo']:.3f} s")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
