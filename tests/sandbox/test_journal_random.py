"""Random trees and random tool actions: preview, apply and undo must reproduce
exactly what the same actions do to a plain copy, and exactly the old state."""

import json
import shutil
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from preview_trees import copy_preview, overlay_preview, run_script, snapshot, without_mtimes

from toolsmith.sandbox import journal
from toolsmith.sandbox.plan import compute

# Replays ACTIONS (a JSON list) on the folder sys.argv[1]; an action that cannot happen
# there (missing path, folder in the way) is skipped, the same way everywhere.
REPLAY = r"""
import json, os, shutil, sys
root = sys.argv[1]
for op, path, arg in json.loads(ACTIONS):
    p = os.path.join(root, path)
    try:
        if op == "write":
            os.makedirs(os.path.dirname(p), exist_ok=True)
            open(p, "wb").write(bytes.fromhex(arg))
        elif op == "append":
            open(p, "ab").write(bytes.fromhex(arg))
        elif op == "delete":
            shutil.rmtree(p) if os.path.isdir(p) and not os.path.islink(p) else os.remove(p)
        elif op == "move":
            if not os.path.lexists(os.path.join(root, arg)):
                os.makedirs(os.path.dirname(os.path.join(root, arg)), exist_ok=True)
                shutil.move(p, os.path.join(root, arg))
        elif op == "mkdir":
            os.makedirs(p)
        elif op == "symlink":
            os.symlink(arg, p)
        elif op == "chmod":
            os.chmod(p, int(arg, 8), follow_symlinks=False)
    except (OSError, shutil.Error, NotImplementedError):
        pass
"""


def replay(actions) -> str:
    return f"ACTIONS = {json.dumps(json.dumps(actions))}\n" + REPLAY


NAMES = st.sampled_from(["a", "b", "c"])
PATHS = st.lists(NAMES, min_size=1, max_size=2).map("/".join)
CONTENT = st.sampled_from([b"", b"same content\n", b"other\n", bytes(range(200)), b"line\n" * 30]).map(bytes.hex)
ACTION = st.one_of(
    st.tuples(st.just("write"), PATHS, CONTENT),
    st.tuples(st.just("append"), PATHS, CONTENT),
    st.tuples(st.just("delete"), PATHS, st.just("")),
    st.tuples(st.just("move"), PATHS, PATHS),
    st.tuples(st.just("mkdir"), PATHS, st.just("")),
    st.tuples(st.just("symlink"), PATHS, NAMES),
    st.tuples(st.just("chmod"), PATHS, st.sampled_from(["600", "755"])),
)


@settings(max_examples=40, deadline=None)
@given(
    initial=st.lists(st.tuples(st.just("write"), PATHS, CONTENT), min_size=2, max_size=8),
    actions=st.lists(ACTION, min_size=1, max_size=8),
    mode=st.sampled_from(["overlay", "copy"]),
)
def test_random_actions_apply_and_undo_exactly(initial, actions, mode):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        root, expected = tmp / "root", tmp / "expected"
        root.mkdir()
        run_script(replay(initial), root)
        before = snapshot(root)
        shutil.copytree(root, expected, symlinks=True)
        run_script(replay(actions), expected)

        preview = {"overlay": overlay_preview, "copy": copy_preview}[mode]
        plan = compute([preview(root, tmp / "layer", replay(actions))])
        assert snapshot(root) == before

        run_dir = tmp / "20261126-101502-ab12"
        run_dir.mkdir()
        journal.apply(plan, run_dir)
        assert without_mtimes(snapshot(root)) == without_mtimes(snapshot(expected))
        journal.undo(run_dir)
        assert snapshot(root) == before
