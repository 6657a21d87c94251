"""As a normal user (root ignores permissions, users do not): files the tool left
unreadable (0200, 000) preview, apply and undo; so do changes inside a folder that
the tool made writable for a moment, or for good."""

import os
import tempfile
import traceback
from pathlib import Path

import pytest
from as_user import reachable_and_drop
from preview_trees import expected_after, overlay_preview, snapshot, without_mtimes

from toolsmith.sandbox import journal
from toolsmith.sandbox.plan import compute

USER = 65534

TOOL = r"""
import os, sys
j = lambda *p: os.path.join(sys.argv[1], *p)
open(j("secret.txt"), "w").write("write only\n"); os.chmod(j("secret.txt"), 0o200)
open(j("sealed.bin"), "wb").write(b"\x00" * 10); os.chmod(j("sealed.bin"), 0)
open(j("same-size.txt"), "w").write("BBBB\n"); os.chmod(j("same-size.txt"), 0)
os.chmod(j("opened"), 0o755); open(j("opened", "new.txt"), "w").write("new\n"); os.remove(j("opened", "old.txt"))
os.chmod(j("moment"), 0o755); open(j("moment", "new.txt"), "w").write("new\n")
os.rename(j("moment", "old.txt"), j("moment", "renamed.txt")); os.chmod(j("moment"), 0o555)
"""


def as_user(action) -> int:
    pid = os.fork()
    if pid == 0:
        try:
            reachable_and_drop(USER, USER)  # the interpreter may live under /root
            action()
            os._exit(0)
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(1)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become a normal user for the test")
def test_unreadable_files_and_temporarily_writable_folders_as_a_normal_user():
    base = Path(tempfile.mkdtemp())
    base.chmod(0o755)
    root = base / "root"
    root.mkdir()
    (root / "same-size.txt").write_text("AAAA\n")
    for name in ("opened", "moment"):
        (root / name).mkdir()
        (root / name / "old.txt").write_text("old\n")
        os.chmod(root / name, 0o555)
    before = snapshot(root)
    after = expected_after(root, base, TOOL)
    for path in [base, *base.rglob("*")]:
        os.chown(path, USER, USER, follow_symlinks=False)
    run_dir = base / "20261126-101502-ab12"

    def preview_and_apply():
        plan = compute([overlay_preview(root, base / "layer", TOOL)])
        run_dir.mkdir()
        journal.apply(plan, run_dir)

    assert as_user(preview_and_apply) == 0
    assert without_mtimes(snapshot(root)) == after  # (read as root: the user may not read 000 files)
    assert as_user(lambda: journal.undo(run_dir)) == 0
    assert snapshot(root) == before
