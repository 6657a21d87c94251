"""Memory is limited per run, not only per process, where the kernel allows a cgroup."""

import sys

import pytest

from toolsmith.sandbox import cgroup
from toolsmith.sandbox.launcher import check_layers, execute
from toolsmith.sandbox.policy import Policy

# Each process stays under the per-process address-space limit; together they do not.
HOG = "import time; block = b'x' * (110 << 20); time.sleep(1.5)"
FOUR_HOGS = (
    "import subprocess, sys\n"
    f"procs = [subprocess.Popen([sys.executable, '-c', {HOG!r}]) for _ in range(4)]\n"
    "codes = [p.wait() for p in procs]\n"
    "print(codes)\n"
    "sys.exit(1 if any(codes) else 0)\n"
)


def run_cgroup_or_skip():
    group, why = cgroup.create(64)
    if group is None:
        pytest.skip(f"this kernel gives this user no memory cgroup ({why}); runs are limited per process only")
    group.remove()


def test_sandbox_check_says_which_memory_limit_applies():
    status = next(s for s in check_layers() if s.name == "run memory")
    group, why = cgroup.create(64)
    if group is not None:
        group.remove()
    assert status.active == (group is not None)
    assert ("for the whole run" in status.detail) if status.active else (why in status.detail)
    assert not status.required


def test_four_processes_cannot_together_pass_the_runs_memory_limit():
    run_cgroup_or_skip()
    policy = Policy(memory_mb=320, timeout=60)
    alone = execute([sys.executable, "-c", HOG], policy)
    assert alone.exit_code == 0, alone.stderr  # one process fits: the per-process limit allows it
    together = execute([sys.executable, "-c", FOUR_HOGS], policy)
    assert together.exit_code != 0, together.stdout  # ~440 MiB in all: the run's cgroup killed some
    assert b"-9" in together.stdout or together.killed


def test_the_runs_cgroup_is_removed_after_the_run():
    run_cgroup_or_skip()
    group, _ = cgroup.create(64)
    parent = group.path.parent
    group.remove()
    before = {p.name for p in parent.iterdir() if p.name.startswith("toolsmith-")}
    assert execute([sys.executable, "-c", "pass"], Policy(timeout=30)).exit_code == 0
    after = {p.name for p in parent.iterdir() if p.name.startswith("toolsmith-")}
    assert after <= before
