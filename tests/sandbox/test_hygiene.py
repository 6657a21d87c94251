"""What a run leaves behind: a preview is held to a byte and an entry quota while the
tool runs, a failed run keeps nothing, previews expire, and `runs prune` removes old
runs but never what undo still needs."""

import errno
import json
import os
import time

import pytest

from toolsmith.core.tools.run_service import runs_folder
from toolsmith.sandbox import run_store as runs
from toolsmith.sandbox.policy import Policy
from toolsmith.sandbox.run_store import RunError

from escape_harness import TOOL_UID


@pytest.fixture
def folder(tmp_path):
    tmp_path.chmod(0o755)
    root = tmp_path / "data"
    root.mkdir()
    (root / "keep.txt").write_text("mine\n")
    for path in [root, *root.iterdir()]:
        os.chown(path, TOOL_UID, TOOL_UID)
    return root


def policy(folder, **limits) -> Policy:
    return Policy(write_paths=[str(folder)], cwd=str(folder), **{"timeout": 60, **limits})


def run_dirs() -> list[str]:
    return sorted(p.name for p in runs_folder().iterdir() if runs.RUN_ID.match(p.name)) if runs_folder().exists() else []


# Writes 64 MiB, then waits for ever: only a quota checked while it runs ends it
# before the 10-minute timeout (pytest gives up long before).
WRITER = "import time\nfor i in range(256):\n    open(f'big-{i}', 'wb').write(bytes(256 * 1024)); time.sleep(0.005)\ntime.sleep(3600)"


def test_a_preview_past_its_byte_quota_is_stopped_while_it_runs(folder):
    with pytest.raises(RunError, match=r"quota of 2 MiB \(\[sandbox\] preview_mb\); nothing was changed"):
        runs.run(runs_folder(), ["python3", "-c", WRITER], policy(folder, preview_mb=2, timeout=600))
    assert run_dirs() == []  # no layer left behind
    assert sorted(os.listdir(folder)) == ["keep.txt"]


def test_a_quota_passed_between_two_checks_is_caught_at_the_end(folder):
    with pytest.raises(RunError, match=r"quota of 30 new files and folders \(\[sandbox\] preview_files\)"):
        runs.run(runs_folder(), ["python3", "-c", "for i in range(200): open(f'f{i}', 'w').close()"], policy(folder, preview_files=30))
    assert run_dirs() == []


def test_a_failure_after_the_sandbox_ran_removes_the_runs_layers(folder, monkeypatch):
    def disk_full(run_dir, record):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(runs, "_save", disk_full)
    with pytest.raises(OSError, match="No space left"):
        runs.run(runs_folder(), ["python3", "-c", "open('new.txt', 'w').write('x')"], policy(folder))
    assert run_dirs() == []


def age(seconds: float = 2.1) -> None:
    """Run ids hold their creation time to the second: let a second pass."""
    time.sleep(seconds)


def test_a_preview_expires_and_loses_its_layers(folder):
    result = runs.run(runs_folder(), ["python3", "-c", "open('new.txt', 'w').write('x')"], policy(folder))
    layers = runs_folder() / result.run_id / "layers"
    assert layers.is_dir()
    age()
    swept = runs_folder() / ".expired"  # the last sweep (at most one a day): as if a day had passed
    os.utime(swept, (time.time() - 86401, time.time() - 86401))
    runs.run(runs_folder(), ["python3", "-c", "pass"], policy(folder), preview_days=1 / 86400)  # swept at the next run
    assert not layers.exists()
    assert runs.get(runs_folder(), result.run_id).state == "expired"
    with pytest.raises(RunError, match=r"expired.*\[sandbox\] preview_days"):
        runs.apply(runs_folder(), result.run_id)
    assert sorted(os.listdir(folder)) == ["keep.txt"]


def test_prune_removes_old_runs_but_keeps_applied_ones(folder, run_cli):
    previewed = runs.run(runs_folder(), ["python3", "-c", "open('a.txt', 'w').write('a')"], policy(folder))
    applied = runs.run(runs_folder(), ["python3", "-c", "open('b.txt', 'w').write('b')"], policy(folder))
    runs.apply(runs_folder(), applied.run_id)
    undone = runs.run(runs_folder(), ["python3", "-c", "open('c.txt', 'w').write('c')"], policy(folder))
    runs.apply(runs_folder(), undone.run_id)
    runs.undo(runs_folder(), undone.run_id)
    half = runs_folder() / "20200101-000000-dead"  # a run folder a crash left without its record
    (half / "layers" / "0" / "upper").mkdir(parents=True)
    age()

    pruned = run_cli("runs", "prune", "--older-than", "0", "--json")
    assert pruned.returncode == 0, pruned.stderr
    assert json.loads(pruned.stdout) == {"removed": sorted([previewed.run_id, undone.run_id, half.name]), "kept_for_undo": [applied.run_id]}
    assert run_dirs() == [applied.run_id]
    assert runs.undo(runs_folder()).run_id == applied.run_id  # what undo needs was kept
    assert sorted(os.listdir(folder)) == ["keep.txt"]
    text = run_cli("runs", "prune")
    assert text.returncode == 0 and "removed 0 run(s) older than 30 days" in text.stdout
