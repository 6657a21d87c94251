"""Apply, undo and crash recovery on real files: the files end exactly as before or
exactly as after, never in between, and nobody's edits are overwritten blindly."""

import os
import random
import shutil
import signal
import tempfile
import subprocess
import time
import traceback
from pathlib import Path

import msgspec
import pytest
from preview_trees import MUTATE, expected_after, make_tree, overlay_preview, preview, snapshot, without_mtimes

from toolsmith.sandbox import journal
from toolsmith.sandbox.plan import Plan, compute

RUN_ID = "20261126-101502-ab12"

class Case:
    """A write root, its previewed plan, and the states before and after."""

    def __init__(self, tmp: Path, mode: str = "overlay", script: str | None = None):
        self.tmp, self.root = tmp, tmp / "root"
        make_tree(self.root)
        kwargs = {"script": script} if script else {}
        self.before = snapshot(self.root)
        self.after = expected_after(self.root, tmp, **kwargs)
        self.plan = preview(mode, self.root, tmp / "layer", **kwargs)
        self.run_dir = tmp / "runs" / RUN_ID
        self.run_dir.mkdir(parents=True)

    def now(self) -> dict:
        return snapshot(self.root)


@pytest.mark.parametrize("mode", ["overlay", "copy"])
def test_apply_then_undo_round_trip(tmp_path, mode):
    case = Case(tmp_path, mode)

    journal.apply(case.plan, case.run_dir)
    assert without_mtimes(case.now()) == case.after
    assert not journal.pending(case.run_dir / journal.APPLY)

    journal.undo(case.run_dir)
    assert case.now() == case.before  # contents, modes, links and file mtimes


def test_new_and_modified_files_keep_the_tools_mtime_and_the_originals_keep_their_inode(tmp_path):
    case = Case(tmp_path)
    photo_ino = os.stat(case.root / "photo.jpg").st_ino
    notes_upper = Path(case.plan.layers[0].upper) / "notes.txt"
    tool_mtime = os.stat(notes_upper).st_mtime_ns
    journal.apply(case.plan, case.run_dir)
    assert os.stat(case.root / "2024-photo.jpg").st_ino == photo_ino  # a rename, not a copy
    assert os.stat(case.root / "notes.txt").st_mtime_ns == tool_mtime


def test_apply_and_undo_as_a_normal_user_even_into_a_read_only_new_folder():
    """Tests run as root, which ignores permissions; users do not."""
    base = Path(tempfile.mkdtemp())
    base.chmod(0o755)
    script = MUTATE + (
        "os.makedirs(j('locked', 'inner')); open(j('locked', 'f'), 'w').write('x')\n"
        "os.chmod(j('locked', 'inner'), 0); os.chmod(j('locked'), 0o500)\n"
    )
    case = Case(base, script=script)
    for path in [base, *base.rglob("*")]:
        os.chown(path, 65534, 65534, follow_symlinks=False)

    def as_user():
        os.setgid(65534)
        os.setuid(65534)
        journal.apply(case.plan, case.run_dir)
        if without_mtimes(case.now()) != case.after:
            os._exit(2)
        journal.undo(case.run_dir)

    code = exit_code(in_child(as_user))
    assert code == 0
    assert case.now() == case.before
    shutil.rmtree(base)


def edit_in_place_same_size_same_mtime(root: Path) -> str:
    p = root / "notes.txt"
    st = os.stat(p)
    p.write_text(p.read_text().upper())
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
    return "notes.txt"


EXTERNAL_EDITS = {
    "edit a file the plan modifies": lambda r: (r / "notes.txt").write_text("mine\n") and "notes.txt",
    "same size and mtime, other content": edit_in_place_same_size_same_mtime,
    "delete a file the plan deletes": lambda r: (r / "old.log").unlink() or "old.log",
    "create a file the plan creates": lambda r: (r / "new.txt").write_text("mine\n") and "new.txt",
    "replace a file the plan renames": lambda r: (r / "photo.jpg").write_bytes(b"other") and "photo.jpg",
    "add a file to a folder the plan deletes": lambda r: (r / "cache" / "x" / "0.tmp").write_bytes(b"new") and "0.tmp",
}


@pytest.mark.parametrize("edit", EXTERNAL_EDITS, ids=list(EXTERNAL_EDITS))
def test_apply_refuses_when_a_file_changed_after_the_preview(tmp_path, edit):
    case = Case(tmp_path)
    name = EXTERNAL_EDITS[edit](case.root)
    changed = case.now()

    with pytest.raises(journal.ConcurrentChangeError, match=f"{name}.*nothing was applied"):
        journal.apply(case.plan, case.run_dir)
    assert case.now() == changed
    assert not (case.run_dir / journal.APPLY).exists()


@pytest.mark.parametrize("swap", ["symlink", "removed"])
def test_apply_refuses_when_the_folder_of_a_new_file_was_swapped_or_removed(tmp_path, swap):
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "sub").mkdir(parents=True)
    outside.mkdir()
    plan = compute([overlay_preview(root, tmp_path / "layer", "import os,sys; open(os.path.join(sys.argv[1],'sub','new.txt'),'w').write('x')")])
    run_dir = tmp_path / RUN_ID
    run_dir.mkdir()
    os.rmdir(root / "sub")
    if swap == "symlink":
        os.symlink(outside, root / "sub")
    with pytest.raises(journal.ConcurrentChangeError, match="sub .no longer a plain folder" if swap == "symlink" else "sub .folder deleted"):
        journal.apply(plan, run_dir)
    assert os.listdir(outside) == [] and sorted(os.listdir(root)) == (["sub"] if swap == "symlink" else [])


UNDO_BLOCKERS = {
    "edit a file the apply wrote": lambda r: (r / "new.txt").write_text("edited after apply\n") and "new.txt",
    "recreate a file the apply deleted": lambda r: (r / "old.log").write_text("edited after apply\n") and "old.log",
    "add a file to a folder the apply made": lambda r: (r / "fresh" / "mine.txt").write_text("edited after apply\n") and "fresh",
}


@pytest.mark.parametrize("blocker", UNDO_BLOCKERS, ids=list(UNDO_BLOCKERS))
def test_undo_refuses_after_an_external_change_unless_forced(tmp_path, blocker):
    case = Case(tmp_path)
    journal.apply(case.plan, case.run_dir)
    name = UNDO_BLOCKERS[blocker](case.root)
    changed = case.now()

    with pytest.raises(journal.UndoConflictError, match=f"{name}.*--force"):
        journal.undo(case.run_dir)
    assert case.now() == changed

    journal.undo(case.run_dir, force=True)
    assert case.now() == case.before
    kept = [p for p in case.run_dir.rglob("*") if p.is_file() and p.read_bytes() == b"edited after apply\n"]
    assert len(kept) == 1  # the later edit is kept in the run's trash, not lost


def in_child(action, *args, fault: int | None = None) -> int:
    """Run `action(*args)` in a forked process (which may crash); its pid."""
    pid = os.fork()
    if pid == 0:
        try:
            if fault is not None:
                os.environ[journal.FAULT_ENV] = str(fault)
            action(*args)
            os._exit(0)
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(1)
    return pid


def exit_code(pid: int) -> int:
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


@pytest.mark.parametrize("mode", ["overlay", "copy", "overlay, write root on another filesystem", "copy, no atomic exchange"])
def test_recover_rolls_back_a_crash_after_every_step(tmp_path, mode, monkeypatch):
    """Fault injection: the applying process dies right after step k, for every k.
    On another filesystem the new content is copied, not moved, into place; where
    paths cannot be swapped, a modified file's original is moved out, then replaced."""
    if "another" in mode:
        monkeypatch.setattr(journal, "same_filesystem", lambda a, b: False)
    if "exchange" in mode:
        monkeypatch.setattr(journal, "exchange_works", lambda folder: False)
    case = Case(tmp_path, mode.split(",")[0])
    crashed_at = []
    for k in range(0, 1000):
        code = exit_code(in_child(journal.apply, case.plan, case.run_dir, fault=k))
        if code == 0:
            break
        assert code == 70
        assert journal.pending(case.run_dir / journal.APPLY)
        if "exchange" not in mode:  # swapped in one step, a modified file is there at every moment
            assert all((case.root / name).is_file() for name in ("notes.txt", "data.bin", "script.sh")), f"step {k}"
        assert journal.recover(case.run_dir) == "apply"
        assert without_mtimes(case.now(), hide=".toolsmith-") == without_mtimes(case.before), f"crash after step {k}"
        assert case.now().items() >= case.before.items()
        assert journal.recover(case.run_dir) is None  # nothing left to do
        crashed_at.append(k)
    assert without_mtimes(case.now(), hide=".toolsmith-") == case.after
    steps = [line for line in (case.run_dir / journal.APPLY).read_text().splitlines() if '"step"' in line]
    assert crashed_at == list(range(len(steps) + 1))  # every step boundary, the first included


MANY = r"""
import os, random, sys
root = sys.argv[1]
for i in range(90):
    p = os.path.join(root, "bulk", f"{i:03}.txt")
    if i % 3 == 0: os.remove(p)
    elif i % 3 == 1: open(p, "a").write("more\n" * 50)
    else: os.rename(p, os.path.join(root, "bulk", f"moved-{i:03}.txt"))
    open(os.path.join(root, "bulk", f"new-{i:03}.bin"), "wb").write(random.Random(i).randbytes(20000))
"""


def test_sigkill_at_random_moments_leaves_exactly_before_or_after(tmp_path):
    """The applying process is killed once it has done a random number of steps
    (judged from its journal, so the machine's load does not matter), or at once."""
    (tmp_path / "root" / "bulk").mkdir(parents=True)
    for i in range(90):
        (tmp_path / "root" / "bulk" / f"{i:03}.txt").write_text(f"file {i}\n" * 100)
    case = Case(tmp_path, script=MANY)
    upper = Path(case.plan.layers[0].upper)
    subprocess.run(["cp", "-a", upper, tmp_path / "pristine"], check=True)  # an apply moves the layer's files

    def fresh_run(i: int) -> Path:
        """Undo restores the previewed state, so the same plan applies again in a new run."""
        shutil.rmtree(upper)
        subprocess.run(["cp", "-a", tmp_path / "pristine", upper], check=True)
        run_dir = tmp_path / "runs" / f"20261126-101502-{i:04x}"
        run_dir.mkdir()
        return run_dir

    rng = random.Random(5)
    seen = {"before": 0, "after": 0, "interrupted": 0}
    steps = None
    for i in range(24):
        run_dir = fresh_run(i)
        kill_after = rng.randint(-1, steps) if steps else None  # -1: before the journal
        pid = in_child(journal.apply, case.plan, run_dir)
        while kill_after is not None and kill_after >= 0 and _done_steps(run_dir / journal.APPLY) < kill_after:
            time.sleep(0.0001)
        if kill_after is not None:
            os.kill(pid, signal.SIGKILL)
        assert exit_code(pid) in (0, -signal.SIGKILL)
        steps = steps or sum('"step"' in line for line in (run_dir / journal.APPLY).read_text().splitlines())
        seen["interrupted"] += journal.pending(run_dir / journal.APPLY)
        journal.recover(run_dir)
        if case.now() == case.before:
            seen["before"] += 1
        else:
            assert without_mtimes(case.now()) == case.after, f"kill {i}: neither before nor after"
            seen["after"] += 1
            journal.undo(run_dir)
            assert case.now() == case.before
    assert seen["interrupted"] >= 12, seen  # most kills landed mid-apply and were rolled back


def _done_steps(journal_file: Path) -> int:
    try:
        return journal_file.read_text().count('"done"')
    except FileNotFoundError:
        return 0


def test_a_crash_during_undo_after_every_step_rolls_back_to_the_applied_state(tmp_path):
    case = Case(tmp_path)
    journal.apply(case.plan, case.run_dir)
    applied = case.now()
    for k in range(0, 1000):
        code = exit_code(in_child(journal.undo, case.run_dir, fault=k))
        if code == 0:
            break
        assert code == 70
        assert journal.recover(case.run_dir) == "undo"
        assert case.now() == applied, f"crash after undo step {k}"
    assert k > 10
    assert case.now() == case.before


def test_recover_leaves_an_apply_in_progress_alone(tmp_path):
    case = Case(tmp_path)
    assert exit_code(in_child(journal.apply, case.plan, case.run_dir, fault=3)) == 70
    with journal.locked(case.run_dir):  # as if a live process were applying
        assert journal.recover(case.run_dir) is None
        assert journal.pending(case.run_dir / journal.APPLY)
    assert journal.recover(case.run_dir) == "apply"
    assert case.now() == case.before


def test_a_torn_last_journal_line_is_ignored(tmp_path):
    case = Case(tmp_path)
    assert exit_code(in_child(journal.apply, case.plan, case.run_dir, fault=4)) == 70
    with open(case.run_dir / journal.APPLY, "a") as log:
        log.write('{"done": 4, "tor')
    assert journal.recover(case.run_dir) == "apply"
    assert case.now() == case.before


def test_write_root_on_another_filesystem_keeps_its_trash_beside_it(tmp_path, monkeypatch):
    monkeypatch.setattr(journal, "same_filesystem", lambda a, b: False)
    case = Case(tmp_path)
    journal.apply(case.plan, case.run_dir)
    area = case.root / f".toolsmith-{RUN_ID}"
    assert any(p.name.startswith("old-") for p in area.iterdir())
    assert without_mtimes(case.now(), hide=".toolsmith-") == case.after
    journal.undo(case.run_dir)
    assert without_mtimes(case.now(), hide=".toolsmith-") == without_mtimes(case.before)
    assert case.now().items() >= case.before.items()  # mtimes included


def test_undo_of_a_run_never_applied_is_refused(tmp_path):
    case = Case(tmp_path)
    with pytest.raises(journal.JournalError, match="never applied"):
        journal.undo(case.run_dir)


def test_plan_survives_a_json_round_trip(tmp_path):
    case = Case(tmp_path)
    assert msgspec.json.decode(msgspec.json.encode(case.plan), type=Plan) == case.plan
