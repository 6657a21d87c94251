"""Plans computed from real overlayfs upper dirs and from copies: what a user sees
before anything is applied."""

import os
import shutil
import stat
import tempfile
from pathlib import Path

import pytest
from preview_trees import MUTATE, copy_preview, make_tree, overlay_preview, preview, snapshot

from toolsmith.sandbox.plan import Layer, PlanError, compute, prepare_copy, sha256_file


def by_path(plan):
    return {c.path: c for c in plan.changes}


@pytest.mark.parametrize("mode", ["overlay", "copy"])
def test_plan_describes_every_kind_of_change_and_leaves_the_files_alone(tmp_path, mode):
    root = tmp_path / "root"
    make_tree(root)
    before = snapshot(root)
    notes_before = (root / "notes.txt").read_text()

    plan = preview(mode, root, tmp_path / "layer")

    assert snapshot(root) == before
    changes = by_path(plan)
    summary = {(c.kind, c.type, c.path, c.old_path) for c in plan.changes}
    assert {
        ("created", "file", "new.txt", None),
        ("modified", "file", "notes.txt", None),
        ("modified", "file", "data.bin", None),
        ("modified", "file", "script.sh", None),
        ("deleted", "file", "old.log", None),
        ("renamed", "file", "2024-photo.jpg", "photo.jpg"),
        ("renamed", "file", "papers/a.txt", "docs/a.txt"),
        ("renamed", "file", "papers/sub/b.txt", "docs/sub/b.txt"),
        ("renamed", "file", "papers/sub/empty", "docs/sub/empty"),
        ("created", "dir", "fresh", None),
        ("created", "dir", "fresh/deep", None),
        ("created", "file", "fresh/deep/blob.bin", None),
        ("created", "file", "fresh/empty", None),
        ("deleted", "dir", "cache", None),
        ("deleted", "file", "cache/x/1.tmp", None),
        ("created", "symlink", "link-to-notes", None),
        ("modified", "symlink", "current", None),
        ("deleted", "file", "was-file", None),
        ("created", "dir", "was-file", None),
        ("deleted", "dir", "was-dir", None),
        ("created", "file", "was-dir", None),
        ("modified", "dir", "private", None),
    } <= summary
    touched = {c.path for c in plan.changes} | {c.old_path for c in plan.changes}
    assert "untouched.txt" not in touched
    assert "same.txt" not in touched  # rewritten with identical content: no change

    notes = [c for c in plan.changes if c.path == "notes.txt"][0]
    assert notes.size_before == len(notes_before) and notes.size_after == len(notes_before) + len("a new line\n")
    assert "+a new line" in notes.diff and " second line" in notes.diff
    assert notes.sha256_before == sha256_file(str(root / "notes.txt"))
    assert "+hello" in changes["new.txt"].diff
    assert changes["fresh/deep/blob.bin"].diff is None  # binary: sizes and hashes only
    assert changes["fresh/deep/blob.bin"].size_after == 1024
    assert changes["data.bin"].diff is None
    assert (changes["script.sh"].mode_before, changes["script.sh"].mode_after) == (0o644, 0o755)
    assert (changes["private"].mode_before, changes["private"].mode_after) == (0o755, 0o700)
    assert (changes["current"].link_before, changes["current"].link_after) == ("notes.txt", "papers/a.txt")
    photo = changes["2024-photo.jpg"]
    assert photo.sha256_before == photo.sha256_after == sha256_file(str(root / "photo.jpg"))
    assert photo.stamp.ino == os.stat(root / "photo.jpg").st_ino


def test_overlay_and_copy_modes_agree(tmp_path):
    plans = {}
    for mode in ("overlay", "copy"):
        root = tmp_path / mode / "root"
        make_tree(root)
        plans[mode] = {(c.kind, c.type, c.path, c.old_path, c.size_before, c.size_after, c.diff) for c in preview(mode, root, tmp_path / mode / "layer").changes}
    assert plans["overlay"] == plans["copy"]


def test_hand_built_upper_dir_whiteouts_and_opaque_folders(tmp_path):
    """The upper-dir format the launcher's overlayfs produces, written by hand."""
    root, upper = tmp_path / "root", tmp_path / "upper"
    (root / "keep").mkdir(parents=True)
    (root / "keep" / "a").write_text("a")
    (root / "keep" / "b").write_text("b")
    (root / "gone.txt").write_text("bye")
    (root / "replaced").mkdir()
    (root / "replaced" / "old1").write_text("1")
    (root / "replaced" / "old2").write_text("2")
    upper.mkdir()
    os.mknod(upper / "gone.txt", stat.S_IFCHR | 0o000, os.makedev(0, 0))
    (upper / "keep").mkdir()
    os.mknod(upper / "keep" / "a", stat.S_IFCHR | 0o000, os.makedev(0, 0))
    (upper / "replaced").mkdir()
    os.setxattr(upper / "replaced", "user.overlay.opaque", b"y")
    (upper / "replaced" / "old2").write_text("two")

    plan = compute([Layer(target=str(root), upper=str(upper), mode="overlay")])

    assert sorted((c.kind, c.path) for c in plan.changes) == [
        ("deleted", "gone.txt"),
        ("deleted", "keep/a"),
        ("deleted", "replaced/old1"),
        ("modified", "replaced/old2"),
    ]


def test_special_files_written_by_a_tool_are_refused(tmp_path):
    root, upper = tmp_path / "root", tmp_path / "upper"
    root.mkdir()
    upper.mkdir()
    os.mkfifo(upper / "pipe")
    with pytest.raises(PlanError, match="pipe.*FIFO"):
        compute([Layer(target=str(root), upper=str(upper), mode="overlay")])


def test_setuid_bits_never_reach_a_plan(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    layer = overlay_preview(root, tmp_path / "layer", "import os,sys; p=os.path.join(sys.argv[1],'x'); open(p,'w').write('x'); os.chmod(p, 0o4755)")
    (change,) = compute([layer]).changes
    assert change.mode_after == 0o755


def test_copy_mode_refuses_a_write_root_holding_a_fifo(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    os.mkfifo(root / "pipe")
    with pytest.raises(PlanError, match="FIFO.*move it out"):
        prepare_copy(str(root), str(tmp_path / "upper"), str(tmp_path / "snap"))


def test_copy_mode_says_which_file_it_could_not_copy():
    base = Path(tempfile.mkdtemp())  # reachable by a normal user, unlike pytest's tmp_path
    base.chmod(0o777)
    root = base / "root"
    root.mkdir()
    (root / "secret").write_text("x")
    (root / "secret").chmod(0o600)
    pid = os.fork()
    if pid == 0:  # as a normal user, who cannot read a file that is not theirs
        try:
            os.setuid(65534)
            prepare_copy(str(root), str(base / "upper"), str(base / "snap"))
        except PlanError as e:
            os._exit(0 if "cannot copy" in str(e) and "secret" in str(e) and "Permission denied" in str(e) else 2)
        finally:
            os._exit(3)
    code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    shutil.rmtree(base)
    assert code == 0


def test_a_folder_the_tool_locked_is_planned_with_its_mode_as_a_normal_user():
    base = Path(tempfile.mkdtemp())
    base.chmod(0o755)
    root, upper = base / "root", base / "upper"
    root.mkdir()
    (upper / "locked").mkdir(parents=True)
    (upper / "locked" / "f").write_text("x")
    (upper / "locked").chmod(0)
    for path in (upper, upper / "locked", upper / "locked" / "f"):
        os.chown(path, 65534, 65534)
    pid = os.fork()
    if pid == 0:
        try:
            os.setuid(65534)
            plan = compute([Layer(target=str(root), upper=str(upper), mode="overlay")])
            got = sorted((c.kind, c.type, c.path, c.mode_after) for c in plan.changes)
            os._exit(0 if got == [("created", "dir", "locked", 0), ("created", "file", "locked/f", 0o644)] else 2)
        finally:
            os._exit(3)
    code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    shutil.rmtree(base)
    assert code == 0


def test_copy_mode_notices_a_same_size_edit_that_restores_the_mtime(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (root / "f").write_text("aaaa")
    script = "import os,sys; p=os.path.join(sys.argv[1],'f'); st=os.stat(p); open(p,'w').write('bbbb'); os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))"
    layer = copy_preview(root, tmp_path / "layer", script)
    (change,) = compute([layer]).changes
    assert (change.kind, change.path) == ("modified", "f")
    assert "-aaaa" in change.diff and "+bbbb" in change.diff


def test_large_and_long_text_diffs_are_capped(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    script = (
        "import os,sys; r=sys.argv[1]\n"
        "open(os.path.join(r,'big.txt'),'w').write('x' * 200_000)\n"
        "open(os.path.join(r,'long.txt'),'w').write(''.join(f'line {i}\\n' for i in range(5000)))\n"
    )
    changes = by_path(compute([overlay_preview(root, tmp_path / "layer", script)]))
    assert changes["big.txt"].diff is None and changes["big.txt"].size_after == 200_000
    assert changes["long.txt"].diff.count("\n") < 500 and "diff cut" in changes["long.txt"].diff


def test_rename_pairing_prefers_the_same_name_and_needs_the_same_content(tmp_path):
    root = tmp_path / "root"
    (root / "a").mkdir(parents=True)
    (root / "a" / "one.txt").write_text("same")
    (root / "a" / "two.txt").write_text("same")
    (root / "a" / "three.txt").write_text("abc")
    script = (
        "import os,sys; j=lambda *p: os.path.join(sys.argv[1], *p)\n"
        "os.mkdir(j('b'))\n"
        "os.rename(j('a','two.txt'), j('b','two.txt'))\n"
        "os.rename(j('a','one.txt'), j('b','one.txt'))\n"
        "os.remove(j('a','three.txt')); open(j('b','three.txt'),'w').write('xyz')\n"
    )
    changes = by_path(compute([overlay_preview(root, tmp_path / "layer", script)]))
    assert changes["b/one.txt"].old_path == "a/one.txt"
    assert changes["b/two.txt"].old_path == "a/two.txt"
    assert changes["b/three.txt"].kind == "created"
    assert changes["a/three.txt"].kind == "deleted"


def test_a_run_that_changes_nothing_has_an_empty_plan(tmp_path):
    root = tmp_path / "root"
    make_tree(root)
    plan = compute([overlay_preview(root, tmp_path / "layer", "import os,sys; os.listdir(sys.argv[1])")])
    assert plan.changes == [] and plan.summary() == "no changes"


def test_summary_counts_each_kind(tmp_path):
    root = tmp_path / "root"
    make_tree(root)
    plan = preview("overlay", root, tmp_path / "layer", MUTATE)
    counts = plan.counts()
    assert counts == {k: sum(c.kind == k for c in plan.changes) for k in ("created", "modified", "deleted", "renamed")}
    assert plan.summary().startswith(f"{counts['created']} created")
