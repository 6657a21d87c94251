"""Folder modes with setgid and sticky bits: a mode change there applies, new folders
keep what they inherit, and undo brings every bit back."""

import os

import pytest
from preview_trees import PREVIEWS, snapshot, without_mtimes, expected_after

from toolsmith.sandbox import journal
from toolsmith.sandbox.plan import compute

TOOL = r"""
import os, sys
j = lambda *p: os.path.join(sys.argv[1], *p)
os.chmod(j("shared"), 0o2770)
os.mkdir(j("shared", "new"))
open(j("shared", "new", "f.txt"), "w").write("x")
open(j("shared", "g.txt"), "w").write("y")
os.chmod(j("drop"), 0o1770)
os.chmod(j("plain"), 0o700)
"""


@pytest.mark.parametrize("mode", ["overlay", "copy"])
def test_setgid_and_sticky_folders_apply_and_undo_exactly(tmp_path, mode):
    root = tmp_path / "root"
    for name, bits in (("shared", 0o2775), ("drop", 0o1777), ("plain", 0o755)):
        (root / name).mkdir(parents=True)
        os.chmod(root / name, bits)
        (root / name / "keep.txt").write_text(name)
    before = snapshot(root)
    after = expected_after(root, tmp_path, TOOL)
    assert after["shared"] == ("dir", 0o2770) and after["drop"] == ("dir", 0o1770)
    plan = compute([PREVIEWS[mode](root, tmp_path / "layer", TOOL)])
    run_dir = tmp_path / "20261126-101502-ab12"
    run_dir.mkdir()

    journal.apply(plan, run_dir)
    assert without_mtimes(snapshot(root)) == after
    journal.undo(run_dir)
    assert snapshot(root) == before
