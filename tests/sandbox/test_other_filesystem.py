"""A write folder on another filesystem than toolsmith's data: a real tmpfs that the
test mounts (as root; elsewhere /dev/shm when it is one). New content is copied
across (copy_file_range answers EXDEV there), and a failed apply leaves no staging
folder in the user's folder."""

import os
import subprocess
import tempfile
from pathlib import Path

import pytest

from toolsmith.core.tools.run_service import runs_folder
from toolsmith.sandbox import journal
from toolsmith.sandbox import run_store as runs
from toolsmith.sandbox.policy import Policy

from escape_harness import TOOL_UID
from preview_trees import snapshot, without_mtimes

TOOL = r"""
import os
open("new.bin", "wb").write(os.urandom(300000))
open("notes.txt", "a").write("more\n")
os.rename("a.txt", "b.txt")
os.remove("junk.tmp")
"""


@pytest.fixture
def other_fs(toolsmith_home):
    home_dev = os.stat(toolsmith_home).st_dev
    if os.geteuid() == 0:
        mount = Path(tempfile.mkdtemp(prefix="other-fs-"))
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m,mode=0755", "tmpfs", str(mount)], check=True)
        try:
            yield mount
        finally:
            subprocess.run(["umount", "-l", str(mount)], check=True)
            mount.rmdir()
    elif os.path.isdir("/dev/shm") and os.stat("/dev/shm").st_dev != home_dev:
        folder = Path(tempfile.mkdtemp(prefix="other-fs-", dir="/dev/shm"))
        yield folder
        subprocess.run(["rm", "-rf", str(folder)])
    else:
        pytest.skip("needs root to mount a tmpfs, or a /dev/shm on another filesystem than the data folder")


@pytest.fixture
def folder(other_fs, toolsmith_home):
    root = other_fs / "data"
    root.mkdir()
    (root / "notes.txt").write_text("mine\n")
    (root / "a.txt").write_text("a\n")
    (root / "junk.tmp").write_text("junk\n")
    for path in [root, *root.iterdir()]:
        os.chown(path, TOOL_UID, TOOL_UID)
    assert os.stat(root).st_dev != os.stat(toolsmith_home).st_dev
    return root


def test_apply_and_undo_across_filesystems(folder):
    before = snapshot(folder)
    result = runs.run(runs_folder(), ["python3", "-c", TOOL], Policy(write_paths=[str(folder)], cwd=str(folder)))
    assert result.exit_code == 0, result.stderr
    runs.apply(runs_folder(), result.run_id)
    after = without_mtimes(snapshot(folder), hide=".toolsmith-")
    assert set(after) == {"new.bin", "notes.txt", "b.txt"}
    assert after["notes.txt"][2] == b"mine\nmore\n" and len(after["new.bin"][2]) == 300000
    runs.undo(runs_folder(), result.run_id)
    assert without_mtimes(snapshot(folder), hide=".toolsmith-") == without_mtimes(before)


def test_a_failed_apply_leaves_no_staging_folder_behind(folder, monkeypatch):
    before = snapshot(folder)
    result = runs.run(runs_folder(), ["python3", "-c", TOOL], Policy(write_paths=[str(folder)], cwd=str(folder)))
    monkeypatch.setenv(journal.FAULT_ENV, "fail:3")
    with pytest.raises(journal.JournalError, match="failed and was rolled back"):
        runs.apply(runs_folder(), result.run_id)
    assert snapshot(folder) == before
    assert not [p for p in folder.iterdir() if p.name.startswith(".toolsmith-")]
