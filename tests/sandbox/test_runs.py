"""run / apply / undo through the real launcher, and the `toolsmith runs` and
`toolsmith undo` commands."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from toolsmith.core.tools.run_service import runs_folder
from toolsmith.sandbox import journal, launcher
from toolsmith.sandbox import run_store as runs
from toolsmith.sandbox.policy import Policy

from escape_harness import TOOL_UID
from preview_trees import snapshot, without_mtimes

# A small tool: works on the current folder, prints what it did, may fail on purpose.
TOOL = r"""
import os, shutil, sys
open("report.txt", "w").write("3 photos\n")
open("notes.txt", "a").write("checked\n")
os.rename("IMG_1.jpg", "2024-01-01.jpg")
os.remove("junk.tmp")
os.makedirs("albums/2024")
shutil.move("old", "archive")
print("renamed 1 photo")
print("warning: junk removed", file=sys.stderr)
sys.exit(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
"""


@pytest.fixture
def folder(tmp_path):
    """A user's folder, owned by the uid tools run as (tests run as root; the
    sandbox drops to an unprivileged uid, as a user's own files would be theirs)."""
    tmp_path.chmod(0o755)
    root = tmp_path / "photos"
    (root / "old").mkdir(parents=True)
    (root / "notes.txt").write_text("my notes\n")
    (root / "IMG_1.jpg").write_bytes(b"\xff\xd8" + bytes(range(256)) * 20)
    (root / "junk.tmp").write_bytes(b"junk")
    (root / "old" / "a.txt").write_text("old a\n")
    os.symlink("../notes.txt", root / "old" / "link")
    for path in [root, *root.rglob("*")]:
        os.chown(path, TOOL_UID, TOOL_UID, follow_symlinks=False)
    return root


def expected(folder: Path, tmp: Path, *args: str) -> dict:
    """The tool run directly on a plain copy: what applying must produce."""
    copy = tmp / "expected"
    shutil.copytree(folder, copy, symlinks=True)
    subprocess.run([sys.executable, "-c", TOOL, *args], cwd=copy)
    return without_mtimes(snapshot(copy))


def policy(folder: Path) -> Policy:
    return Policy(write_paths=[str(folder)], cwd=str(folder), timeout=60)


@pytest.fixture(params=["overlay", "copy"])
def mode(request, monkeypatch):
    if request.param == "copy":  # as on a system without overlayfs
        monkeypatch.setattr(launcher, "overlay_mode", lambda: "copy")
    assert launcher.overlay_mode() == request.param
    return request.param


def test_preview_apply_undo_through_the_sandbox(folder, tmp_path, mode):
    before = snapshot(folder)
    after = expected(folder, tmp_path)

    result = runs.run(runs_folder(), ["python3", "-c", TOOL], policy(folder))

    assert (result.state, result.exit_code) == ("previewed", 0)
    assert result.stdout == b"renamed 1 photo\n" and b"junk removed" in result.stderr
    assert result.usage["wall_seconds"] > 0
    assert snapshot(folder) == before  # a preview changes nothing
    assert result.plan.layers[0].mode == mode
    summary = {(c.kind, c.path, c.old_path) for c in result.plan.changes}
    assert {("created", "report.txt", None), ("modified", "notes.txt", None), ("renamed", "2024-01-01.jpg", "IMG_1.jpg"),
            ("deleted", "junk.tmp", None), ("renamed", "archive/a.txt", "old/a.txt"), ("created", "albums/2024", None)} <= summary

    applied = runs.apply(runs_folder(), result.run_id)
    assert applied.state == "applied"
    assert without_mtimes(snapshot(folder)) == after
    owner = folder.stat().st_uid  # new files and folders are the folder owner's, not root's or the sandbox's
    assert {p.lstat().st_uid for p in folder.rglob("*")} == {owner}
    assert not (runs_folder() / result.run_id / "layers").exists()

    undone = runs.undo(runs_folder())
    assert (undone.run_id, undone.state) == (result.run_id, "undone")
    assert snapshot(folder) == before


def test_a_failing_tool_still_gets_a_plan_and_its_error_output(folder):
    result = runs.run(runs_folder(), ["python3", "-c", TOOL, "3"], policy(folder))
    assert result.exit_code == 3 and result.state == "previewed"
    assert b"junk removed" in result.stderr
    assert result.plan.counts()["created"] >= 1


def test_without_preview_the_tool_changes_the_files_directly_and_nothing_can_be_undone(folder, tmp_path):
    after = expected(folder, tmp_path)
    result = runs.run(runs_folder(), ["python3", "-c", TOOL], policy(folder), preview=False)
    assert (result.state, result.plan) == ("direct", None)
    assert "nothing to apply or undo" in result.note
    assert without_mtimes(snapshot(folder)) == after
    with pytest.raises(runs.RunError, match="direct.*nothing to apply or undo"):
        runs.undo(runs_folder(), result.run_id)
    with pytest.raises(runs.RunError, match="no applied run"):
        runs.undo(runs_folder())


def test_states_are_enforced(folder):
    result = runs.run(runs_folder(), ["python3", "-c", TOOL], policy(folder))
    with pytest.raises(runs.RunError, match="previewed; only an applied run can be undone"):
        runs.undo(runs_folder(), result.run_id)
    runs.apply(runs_folder(), result.run_id)
    with pytest.raises(runs.RunError, match="applied; only a previewed run can be applied"):
        runs.apply(runs_folder(), result.run_id)
    runs.undo(runs_folder(), result.run_id)
    with pytest.raises(runs.RunError, match="undone"):
        runs.undo(runs_folder(), result.run_id)
    with pytest.raises(runs.RunError, match="not a run id"):
        runs.apply(runs_folder(), "../../etc")


def test_an_edit_between_preview_and_apply_stops_the_apply(folder):
    result = runs.run(runs_folder(), ["python3", "-c", TOOL], policy(folder))
    (folder / "notes.txt").write_text("edited meanwhile\n")
    edited = snapshot(folder)
    with pytest.raises(journal.ConcurrentChangeError, match="notes.txt.*nothing was applied"):
        runs.apply(runs_folder(), result.run_id)
    assert snapshot(folder) == edited
    assert runs.get(runs_folder(), result.run_id).state == "previewed"


def test_undo_without_id_takes_back_the_latest_applied_run(folder):
    first = runs.run(runs_folder(), ["python3", "-c", "open('one.txt', 'w').write('1')"], policy(folder))
    runs.apply(runs_folder(), first.run_id)
    second = runs.run(runs_folder(), ["python3", "-c", "open('two.txt', 'w').write('2')"], policy(folder))
    runs.apply(runs_folder(), second.run_id)
    assert runs.undo(runs_folder()).run_id == second.run_id
    assert (folder / "one.txt").exists() and not (folder / "two.txt").exists()
    assert runs.undo(runs_folder()).run_id == first.run_id
    assert not (folder / "one.txt").exists()
    assert [r.state for r in runs.list_runs(runs_folder())] == ["undone", "undone"]


def crash_apply(run_id: str, step: int) -> None:
    """Apply `run_id` in a child process that the journal's fault hook kills at `step`."""
    pid = os.fork()
    if pid == 0:
        os.environ[journal.FAULT_ENV] = str(step)
        try:
            runs.apply(runs_folder(), run_id)
        finally:
            os._exit(1)
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 70


def test_an_apply_interrupted_by_a_crash_is_rolled_back_at_the_next_start(folder):
    before = snapshot(folder)
    result = runs.run(runs_folder(), ["python3", "-c", TOOL], policy(folder))
    crash_apply(result.run_id, step=6)
    assert snapshot(folder) != before  # half applied

    assert runs.recover(runs_folder()) == [f"run {result.run_id}: interrupted apply rolled back"]
    assert snapshot(folder) == before
    assert runs.get(runs_folder(), result.run_id).state == "previewed"
    assert runs.recover(runs_folder()) == []


def test_an_apply_cut_short_before_markers_existed_is_still_rolled_back(folder):
    """A runs folder from an older Toolsmith: no markers; the first recovery finds the run."""
    before = snapshot(folder)
    result = runs.run(runs_folder(), ["python3", "-c", TOOL], policy(folder))
    crash_apply(result.run_id, step=6)
    shutil.rmtree(runs_folder() / ".active")  # as an older Toolsmith left it: no markers at all
    shutil.rmtree(runs_folder() / ".applied", ignore_errors=True)
    (runs_folder() / ".marked").unlink()

    assert runs.recover(runs_folder()) == [f"run {result.run_id}: interrupted apply rolled back"]
    assert snapshot(folder) == before
    assert (runs_folder() / ".marked").exists()  # looked at once: later starts read only the markers


def test_a_run_whose_rollback_fails_is_reported_and_blocks_no_other(folder, run_cli):
    result = runs.run(runs_folder(), ["python3", "-c", TOOL], policy(folder))
    crash_apply(result.run_id, step=12)
    shutil.rmtree(runs_folder() / result.run_id / "area")  # someone deleted the trash
    listed = run_cli("runs", "--json")
    assert listed.returncode == 0 and "could not be rolled back" in listed.stderr
    assert [r["run_id"] for r in json.loads(listed.stdout)] == [result.run_id]


def test_several_write_folders_each_get_a_layer_and_a_nested_one_is_covered(folder, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    os.chown(other, TOOL_UID, TOOL_UID)
    before = {"folder": snapshot(folder), "other": snapshot(other)}
    tool = "open('old/x.txt', 'w').write('x'); open(ARGS, 'w').write('y')".replace("ARGS", repr(str(other / "y.txt")))
    result = runs.run(runs_folder(), ["python3", "-c", tool], Policy(write_paths=[str(folder), str(folder / "old"), str(other)], cwd=str(folder)))
    assert result.exit_code == 0, result.stderr
    assert sorted(layer.target for layer in result.plan.layers) == sorted([str(folder), str(other)])
    assert {(c.root, c.path) for c in result.plan.changes} == {(str(folder), "old/x.txt"), (str(other), "y.txt")}
    assert {"folder": snapshot(folder), "other": snapshot(other)} == before
    runs.apply(runs_folder(), result.run_id)
    assert (folder / "old" / "x.txt").read_text() == "x" and (other / "y.txt").read_text() == "y"
    runs.undo(runs_folder(), result.run_id)
    assert {"folder": snapshot(folder), "other": snapshot(other)} == before


def test_a_file_write_path_cannot_be_previewed(folder):
    with pytest.raises(runs.RunError, match="not a folder"):
        runs.run(runs_folder(), ["true"], Policy(write_paths=[str(folder / "notes.txt")]))


# ---------------------------------------------------------------- the commands


@pytest.fixture
def toolsmith(capsys):
    """The real CLI entry point, in this process (a fresh interpreter per call is slow)."""
    from toolsmith.core.frontends.cli import main

    def call(*args):
        with pytest.raises(SystemExit) as ended:
            main(list(args))
        out = capsys.readouterr()
        return subprocess.CompletedProcess(args, ended.value.code, out.out, out.err)

    return call


def test_runs_show_apply_and_undo_commands(folder, toolsmith):
    before = snapshot(folder)
    result = runs.run(runs_folder(), ["python3", "-c", TOOL], policy(folder))

    listed = json.loads(toolsmith("runs", "--json").stdout)
    assert [(r["run_id"], r["state"]) for r in listed] == [(result.run_id, "previewed")]

    shown = toolsmith("runs", "show", result.run_id)
    assert shown.returncode == 0
    assert "renamed   IMG_1.jpg -> 2024-01-01.jpg" in shown.stdout and "+checked" in shown.stdout
    data = json.loads(toolsmith("runs", "show", result.run_id, "--json").stdout)
    assert data["stdout"] == "renamed 1 photo\n" and data["changes"]

    applied = toolsmith("runs", "apply", result.run_id)
    assert applied.returncode == 0 and f"toolsmith undo {result.run_id}" in applied.stdout
    assert (folder / "report.txt").exists()

    (folder / "report.txt").write_text("edited after apply\n")
    refused = toolsmith("undo")
    assert refused.returncode == 1
    assert refused.stderr.count("\n") == 1 and "report.txt" in refused.stderr and "--force" in refused.stderr

    forced = toolsmith("undo", "--force", "--json")
    assert json.loads(forced.stdout) == {"type": "undone", "run_id": result.run_id, "state": "undone"}
    assert snapshot(folder) == before


def test_commands_give_one_line_errors(toolsmith):
    for args in (["undo"], ["runs", "show", "nope"], ["runs", "apply", "20261126-101502-ab12"]):
        done = toolsmith(*args)
        assert done.returncode == 1
        assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1
    assert toolsmith("runs").stdout == "no runs yet\n"
