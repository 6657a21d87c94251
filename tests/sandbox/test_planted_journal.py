"""A journal planted in the runs folder is never acted on: recovery and undo refuse
any journal naming a path outside that run's write roots and staging areas (also
through a symlink inside a root, and a chmod of a link), and nothing outside changes.
The runs folder itself cannot be granted (test_grants.py), so this is the second wall."""

import json
import os
import stat

import pytest

from toolsmith.sandbox import run_store
from toolsmith.sandbox.policy import Policy

from preview_trees import snapshot


@pytest.fixture
def world(tmp_path):
    runs, root, outside = tmp_path / "runs", tmp_path / "mine", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "victim.txt").write_text("keep me\n")
    (outside / "victim.txt").chmod(0o600)
    (outside / "other.txt").write_text("and me\n")
    os.symlink(outside, root / "innocent-link")
    os.symlink(outside / "victim.txt", root / "file-link")
    if os.geteuid() == 0:
        from toolsmith.sandbox.launcher import SANDBOX_UID

        os.chown(root, SANDBOX_UID, SANDBOX_UID)
    made = run_store.run(runs, ["python3", "-c", f"open({str(root / 'new.txt')!r}, 'w').write('x')"], Policy(write_paths=[str(root)]))
    assert made.exit_code == 0 and [c.path for c in made.plan.changes] == ["new.txt"]
    return {"runs": runs, "run_dir": runs / made.run_id, "run_id": made.run_id, "root": root, "outside": outside,
            "before": snapshot(outside)}


def plant(world, steps: list[dict], commit: bool = False, private: list[str] | None = None) -> None:
    run_dir = world["run_dir"]
    header = {"begin": "apply", "run": world["run_id"], "private": private or [str(run_dir)]}
    lines = [header, *({"step": n, **s} for n, s in enumerate(steps, 1))]
    lines += [{"done": n} for n in range(1, len(steps) + 1)]
    if commit:
        lines.append({"commit": True, "stamps": {}})
    (run_dir / "apply.journal").write_text("".join(json.dumps(e) + "\n" for e in lines))
    (world["runs"] / ".active").mkdir(exist_ok=True)
    (world["runs"] / ".active" / world["run_id"]).touch()


def outside_unchanged(world) -> None:
    assert snapshot(world["outside"]) == world["before"]
    assert stat.S_IMODE((world["outside"] / "victim.txt").stat().st_mode) == 0o600


@pytest.mark.parametrize(
    "steps",
    [
        pytest.param(lambda w: [{"op": "chmod", "path": str(w["outside"] / "victim.txt"), "mode": 0o600, "old": 0o666}], id="chmod-outside"),
        pytest.param(lambda w: [{"op": "rename", "src": str(w["outside"] / "other.txt"), "dst": str(w["run_dir"] / "gone")}], id="rename-outside"),
        pytest.param(lambda w: [{"op": "rename", "src": str(w["root"] / "innocent-link" / "other.txt"),
                                 "dst": str(w["run_dir"] / "gone")}], id="through-a-symlink"),
        pytest.param(lambda w: [{"op": "stage", "src": str(w["run_dir"] / "x"), "dst": str(w["outside"] / "planted")}], id="stage-outside"),
    ],
)
def test_recovery_rejects_a_planted_journal(world, steps):
    plant(world, steps(world))
    lines = run_store.recover(world["runs"])
    assert len(lines) == 1 and "not acted on" in lines[0] and world["run_id"] in lines[0]
    outside_unchanged(world)


def test_recovery_rejects_staging_areas_that_are_not_the_runs(world):
    plant(world, [], private=[str(world["run_dir"]), str(world["outside"])])
    (line,) = run_store.recover(world["runs"])
    assert "staging area" in line and "not acted on" in line
    outside_unchanged(world)


def test_a_chmod_of_a_link_inside_the_root_is_refused(world):
    plant(world, [{"op": "chmod", "path": str(world["root"] / "file-link"), "mode": 0o600, "old": 0o666}])
    (line,) = run_store.recover(world["runs"])
    assert "is not a folder" in line
    outside_unchanged(world)


def test_undo_rejects_a_planted_committed_journal(world):
    plant(world, [{"op": "rename", "src": str(world["outside"] / "other.txt"), "dst": str(world["run_dir"] / "gone")}], commit=True)
    (world["runs"] / ".active" / world["run_id"]).unlink()
    with pytest.raises(run_store.SandboxError, match="outside the run's write roots"):
        run_store.undo(world["runs"], world["run_id"])
    outside_unchanged(world)


def test_a_real_apply_and_undo_still_pass_the_check(world):
    applied = run_store.apply(world["runs"], world["run_id"])
    assert applied.state == "applied" and (world["root"] / "new.txt").read_text() == "x"
    assert run_store.undo(world["runs"], world["run_id"]).state == "undone"
    assert not (world["root"] / "new.txt").exists()
    outside_unchanged(world)
