"""The tool library: versions, diff, restore, trash, import, and crash-safe saves."""

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from toolsmith.core.base import manifest as manifest_module
from toolsmith.core.base.manifest import Manifest, ManifestError
from toolsmith.core.tools.library import Library, LibraryError

SOURCE = textwrap.dedent(
    '''\
    """Print a greeting."""
    import argparse


    def main(argv=None):
        parser = argparse.ArgumentParser(description="Print a greeting")
        parser.add_argument("name")
        args = parser.parse_args(argv)
        print(f"hello {args.name}")


    if __name__ == "__main__":
        main()
    '''
)


def make(name="greet", description="Print a greeting", **kw) -> Manifest:
    now = manifest_module.now()
    return Manifest(name=name, description=description, created=now, updated=now, **kw)


def test_save_and_load():
    lib = Library()
    assert lib.save(make(), SOURCE) == 1
    tool = lib.load("greet")
    assert tool.source == SOURCE and tool.manifest.name == "greet"
    assert (tool.path / "tool.py").read_text() == SOURCE
    assert manifest_module.decode((tool.path / "tool.toml").read_bytes()) == tool.manifest
    assert lib.names() == ["greet"]


def test_every_save_keeps_the_previous_version():
    lib = Library()
    lib.save(make(), SOURCE)
    lib.save(make(description="v2"), SOURCE.replace("hello", "hi"))
    history = lib.history("greet")
    assert [v.number for v in history] == [1, 2]
    assert [v.description for v in history] == ["Print a greeting", "v2"]
    assert lib.version("greet", 1).source == SOURCE
    assert "hi {args.name}" in lib.load("greet").source


def test_restore_makes_a_new_version():
    lib = Library()
    lib.save(make(), SOURCE)
    lib.save(make(description="v2"), SOURCE.replace("hello", "hi"))
    assert lib.restore("greet", 1) == 3
    assert lib.load("greet").source == SOURCE
    assert len(lib.history("greet")) == 3
    with pytest.raises(LibraryError, match="no version 9 \\(versions: 1, 2, 3\\)"):
        lib.restore("greet", 9)


def test_new_refuses_to_overwrite():
    lib = Library()
    lib.save(make(), SOURCE, new=True)
    with pytest.raises(LibraryError, match="already exists"):
        lib.save(make(), SOURCE, new=True)
    assert len(lib.history("greet")) == 1


def test_language_change_removes_old_source():
    lib = Library()
    lib.save(make(), SOURCE)
    lib.save(make(language="bash"), 'main() { echo hi; }\nmain "$@"\n')
    folder = lib.load("greet").path
    assert not (folder / "tool.py").exists() and (folder / "tool.sh").exists()


def test_remove_to_trash_and_back():
    lib = Library()
    lib.save(make(), SOURCE)
    entry = lib.remove("greet")
    assert lib.names() == [] and entry.name == "greet"
    assert [e.name for e in lib.trash()] == ["greet"]
    assert lib.untrash("greet") == "greet"
    assert lib.load("greet").source == SOURCE and len(lib.history("greet")) == 1


def test_missing_tool_is_a_clear_error():
    with pytest.raises(LibraryError, match="no tool named 'nope'"):
        Library().load("nope")


@pytest.mark.parametrize("name", ["../x", "a/b", ".."])
def test_names_with_path_tricks_write_nothing(name, toolsmith_home):
    with pytest.raises(ManifestError, match="invalid tool name"):
        Library().load(name)
    # A Manifest built in memory is not validated until it is saved.
    with pytest.raises(ManifestError, match="invalid tool name"):
        Library().save(make(name=name), SOURCE)
    assert not any(p.is_file() for p in toolsmith_home.rglob("*"))


# -- crash safety ----------------------------------------------------------------

WRITER = textwrap.dedent(
    """
    import sys
    from toolsmith.core.base import manifest as mm
    from toolsmith.core.tools.library import Library
    lib = Library()
    filler = "# " + "x" * 400 + "\\n"
    k = int(sys.argv[1])
    while True:
        k += 1
        now = mm.now()
        source = f"# version {k}\\n" + filler * 2000 + "def main():\\n    pass\\n"
        lib.save(mm.Manifest(name="crashy", description=f"version {k}", created=now, updated=now), source)
        print(k, flush=True)
    """
)


def test_killed_during_save_leaves_a_whole_version(tmp_path):
    """SIGKILL a process in a save loop at random moments; every load is consistent."""
    rng = random.Random(7)
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    lib = Library()
    first = 0
    for _ in range(12):
        proc = subprocess.Popen([sys.executable, str(script), str(first)], stdout=subprocess.PIPE, text=True)
        proc.stdout.readline()  # at least one save finished
        time.sleep(rng.uniform(0.0, 0.15))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        tool = lib.load("crashy")
        marker = tool.source.splitlines()[0]
        assert marker == f"# {tool.manifest.description}"
        assert tool.source.endswith("def main():\n    pass\n")
        numbers = [v.number for v in lib.history("crashy")]
        assert numbers == list(range(1, len(numbers) + 1))
        assert not list((tool.path / ".history").glob(".tmp-*"))
        first = int(tool.manifest.description.split()[1])


# -- CLI -------------------------------------------------------------------------


def test_cli_list_show_history_diff_restore_rm(run_cli, tmp_path):
    script = tmp_path / "greet.py"
    script.write_text(SOURCE)
    imported = run_cli("import", script, "--json")
    assert imported.returncode == 0, imported.stderr
    params = json.loads(imported.stdout)["manifest"]["parameters"]
    assert [p["name"] for p in params] == ["name"]

    listed = json.loads(run_cli("list", "--json").stdout)["tools"]
    assert listed == [{**listed[0], "name": "greet", "description": "Print a greeting.", "origin": "hand"}]

    lib = Library()
    lib.save(make(description="louder"), SOURCE.replace("hello", "HELLO"))
    diff = run_cli("diff", "greet")
    assert diff.returncode == 0
    assert '-    print(f"hello {args.name}")' in diff.stdout
    assert '+    print(f"HELLO {args.name}")' in diff.stdout

    as_json = json.loads(run_cli("diff", "greet", "--json").stdout)
    assert (as_json["from"], as_json["to"]) == (1, 2) and as_json["diff"] == diff.stdout

    history = json.loads(run_cli("history", "greet", "--json").stdout)
    assert [v["number"] for v in history] == [1, 2]

    assert run_cli("restore", "greet", "1").returncode == 0
    assert json.loads(run_cli("show", "greet", "--json").stdout)["source"] == SOURCE

    assert run_cli("rm", "greet").returncode == 0
    assert json.loads(run_cli("list", "--json").stdout) == {"tools": [], "problems": []}
    assert run_cli("trash", "restore", "greet").returncode == 0
    assert [t["name"] for t in json.loads(run_cli("list", "--json").stdout)["tools"]] == ["greet"]


@pytest.mark.parametrize(
    "content, message",
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        (b"# caf\xe9\nprint(1)\n", "UTF-8"),
        (b"# " + b"x" * (10 * 1024 * 1024) + b"\n", "limit"),
    ],
    ids=["binary", "latin1", "10MB"],
)
def test_import_bad_input_writes_nothing(run_cli, tmp_path, toolsmith_home, content, message):
    path = tmp_path / "bad.py"
    path.write_bytes(content)
    result = run_cli("import", path)
    assert result.returncode == 1
    assert message in result.stderr and result.stderr.count("\n") == 1
    assert not (toolsmith_home / "data" / "tools").exists() or Library().names() == []


def test_import_refuses_a_failing_script(run_cli, tmp_path):
    path = tmp_path / "evil.py"
    path.write_text("import os\n\ndef main():\n    os.system('rm -rf ~')\n\nif __name__ == '__main__':\n    main()\n")
    result = run_cli("import", path)
    assert result.returncode == 1
    assert "4:5: forbidden-call" in result.stderr and "did not pass the checks" in result.stderr
    assert Library().names() == []


def test_import_rejects_bad_name(run_cli, tmp_path):
    path = tmp_path / "ok.py"
    path.write_text(SOURCE)
    result = run_cli("import", path, "--name", "../../etc")
    assert result.returncode == 1 and "invalid tool name" in result.stderr
    assert Library().names() == []


def test_show_missing_tool_exit_code(run_cli):
    result = run_cli("show", "ghost")
    assert result.returncode == 1 and result.stderr == "error: no tool named 'ghost' (see `toolsmith list`)\n"


def test_usage_error_exit_code(run_cli):
    assert run_cli("restore", "x", "notanumber").returncode == 2
    assert run_cli("no-such-command").returncode == 2


SAVER = r"""
import os, sys, time
from toolsmith.core.base import manifest
from toolsmith.core.tools.library import Library, LibraryError
go, name = sys.argv[1], sys.argv[2]
now = manifest.now()
m = manifest.Manifest(name=name, description=f"from {os.getpid()}", created=now, updated=now)
while not os.path.exists(go):
    time.sleep(0.0005)
try:
    Library().save(m, "print('hi')\n", new=True)
    print("won")
except LibraryError as e:
    print("lost:", e)
"""


def test_concurrent_new_saves_of_one_name_have_exactly_one_winner(tmp_path):
    """Real processes, released at once; each round a fresh name."""
    for round_ in range(6):
        go = tmp_path / f"go-{round_}"
        procs = [subprocess.Popen([sys.executable, "-c", SAVER, str(go), f"race-{round_}"], stdout=subprocess.PIPE, text=True) for _ in range(3)]
        time.sleep(0.4)  # let every process start and wait for the signal
        go.touch()
        said = [p.communicate(timeout=60)[0].strip() for p in procs]
        assert said.count("won") == 1, said
        assert all(s == "won" or s.startswith("lost: a tool named") for s in said), said
        winner = Library().load(f"race-{round_}")
        assert len(Library().history(f"race-{round_}")) == 1 and winner.source == "print('hi')\n"


def test_list_skips_bad_tool_folders_and_reports_each(run_cli, tmp_path, toolsmith_home):
    script = tmp_path / "greet.py"
    script.write_text(SOURCE)
    assert run_cli("import", script).returncode == 0
    tools = Library().root
    (tools / "Bad Name" / ".history").mkdir(parents=True)
    (tools / "Bad Name" / "tool.toml").write_text('name = "Bad Name"\n')
    (tools / "broken" / ".history").mkdir(parents=True)
    (tools / "broken" / "tool.toml").write_text("this is = = not toml\n")

    text = run_cli("list")
    assert text.returncode == 0, text.stderr
    assert "greet" in text.stdout and "broken" not in text.stdout
    skipped = [line for line in text.stderr.splitlines() if line.startswith("skipped ")]
    assert len(skipped) == 2 and "Bad Name: invalid tool name" in skipped[0] and "broken: " in skipped[1]

    as_json = run_cli("list", "--json")
    assert as_json.returncode == 0
    listed = json.loads(as_json.stdout)
    assert [t["name"] for t in listed["tools"]] == ["greet"]
    assert [os.path.basename(p["path"]) for p in listed["problems"]] == ["Bad Name", "broken"]
    assert "not valid TOML" in listed["problems"][1]["error"]
