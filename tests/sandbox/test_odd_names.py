"""File names that are not UTF-8 (caf\\xe9.txt in Latin-1, b"\\xff\\xfe...") go through
preview, the run record, apply and undo unchanged, and are shown escaped."""

import json
import os
import sys
from pathlib import Path

from toolsmith.core.tools.run_service import runs_folder
from toolsmith.sandbox import run_store as runs
from toolsmith.sandbox.policy import Policy

from escape_harness import TOOL_UID
from preview_trees import snapshot

TOOL = r"""
import os
os.rename(b"caf\xe9.txt", b"caf\xe9-renamed.txt")
open(b"\xff\xfenew.bin", "wb").write(b"new")
os.remove(b"\xff\xfe-old.txt")
os.mkdir(b"dossier-\xe9t\xe9")
open(b"dossier-\xe9t\xe9/\xe9.txt", "w").write("x")
"""


def test_non_utf8_names_preview_apply_and_undo_exactly(tmp_path, run_cli):
    tmp_path.chmod(0o755)
    folder = tmp_path / "data"
    folder.mkdir()
    Path(os.fsdecode(bytes(folder) + b"/caf\xe9.txt")).write_text("latin-1 name\n")
    Path(os.fsdecode(bytes(folder) + b"/\xff\xfe-old.txt")).write_text("old\n")
    for path in [folder, *folder.iterdir()]:
        os.chown(path, TOOL_UID, TOOL_UID)
    before = snapshot(folder)

    result = runs.run(runs_folder(), [sys.executable, "-c", TOOL], Policy(write_paths=[str(folder)], cwd=str(folder)))
    assert result.exit_code == 0, result.stderr
    assert runs.get(runs_folder(), result.run_id).plan == result.plan  # the record read back holds the same names
    paths = {c.path for c in result.plan.changes}
    assert "caf\udce9-renamed.txt" in paths and "\udcff\udcfenew.bin" in paths

    shown = run_cli("runs", "show", result.run_id)
    assert shown.returncode == 0, shown.stderr
    assert "caf\\xe9.txt -> caf\\xe9-renamed.txt" in shown.stdout and "\\xff\\xfenew.bin" in shown.stdout
    as_json = run_cli("runs", "show", "--json", result.run_id)
    assert as_json.returncode == 0, as_json.stderr
    assert "dossier-\\xe9t\\xe9" in {c["path"] for c in json.loads(as_json.stdout)["changes"]}

    runs.apply(runs_folder(), result.run_id)
    names = set(os.listdir(bytes(folder)))
    assert names == {b"caf\xe9-renamed.txt", b"\xff\xfenew.bin", b"dossier-\xe9t\xe9"}
    runs.undo(runs_folder(), result.run_id)
    assert snapshot(folder) == before
