"""A tool run's policy: exactly the paths the user passed, with the manifest's access."""

import json
import os
from pathlib import Path

import pytest

from toolsmith.core.base.manifest import Manifest, Parameter, now
from toolsmith.core.tools.grants import GrantError, tool_policy
from toolsmith.sandbox.launcher import execute

from escape_harness import make_world, remove_world

TOOL = """
import json, sys
source, target = sys.argv[1], sys.argv[2]
found = {}
text = open(source).read()
open(target + "/result.txt", "w").write(text.upper())
for name, path in (("sibling", source.rsplit("/", 1)[0] + "/other.txt"), ("own_code", __file__)):
    try:
        open(path).read()
        found[name] = "read"
    except OSError as e:
        found[name] = e.strerror
print(json.dumps(found))
"""


def manifest(*parameters, network=False) -> Manifest:
    return Manifest(name="shout", description="Upper-case a file", parameters=list(parameters),
                    network=network, created=now(), updated=now())


SOURCE = Parameter(name="source", kind="file", access="read", positional=True)
TARGET = Parameter(name="target", kind="dir", access="write", positional=True)


@pytest.fixture
def world():
    made = make_world()
    (made.inbox / "other.txt").write_text("not passed to the tool\n")
    tool_dir = made.root / "tool"
    tool_dir.mkdir(mode=0o755)
    (tool_dir / "tool.py").write_text(TOOL)
    (tool_dir / "tool.py").chmod(0o644)
    made.before = made.snapshot()
    yield made
    made.assert_host_unaffected()
    remove_world(made)


def test_a_tool_touches_only_the_paths_passed_to_it(world):
    source, target, tool_dir = world.inbox / "data.txt", world.outbox, world.root / "tool"
    policy = tool_policy(manifest(SOURCE, TARGET), {"source": str(source), "target": str(target)},
                         tool_dir=str(tool_dir))
    assert (policy.read_paths, policy.write_paths) == ([str(tool_dir), str(source)], [str(target)])
    result = execute(["python3", str(tool_dir / "tool.py"), str(source), str(target)], policy)
    assert result.exit_code == 0, result.stderr.decode()
    assert json.loads(result.stdout) == {"sibling": "No such file or directory", "own_code": "read"}
    assert (target / "result.txt").read_text() == "INPUT DATA\n"


def test_relative_arguments_multiple_values_and_output_files(world):
    out = Parameter(name="out", kind="file", access="write")
    inputs = Parameter(name="inputs", kind="path", access="read", multiple=True)
    count = Parameter(name="count", kind="int")
    policy = tool_policy(
        manifest(inputs, out, count, network=True),
        {"inputs": ["inbox/data.txt", "inbox/other.txt"], "out": "outbox/new.csv", "count": 3},
        tool_dir=str(world.root / "tool"), cwd=str(world.root),
    )
    assert policy.read_paths[1:] == [str(world.inbox / "data.txt"), str(world.inbox / "other.txt")]
    assert policy.write_paths == [str(world.outbox)]  # a file to create: its folder, which the preview covers
    assert policy.network is True


@pytest.mark.parametrize(
    "arguments,message",
    [
        ({"source": "/no/such/file"}, "source: '/no/such/file' does not exist"),
        ({"target": "/no/such/dir/out"}, "target: '/no/such/dir/out' does not exist, and its folder '/no/such/dir' does not either"),
        ({"target": "/"}, "would give the tool the whole filesystem"),
        ({"target": "~"}, "is your whole home folder"),
        ({"colour": "red"}, "has no parameter 'colour'"),
    ],
)
def test_grants_that_cannot_be_made_are_refused(arguments, message):
    with pytest.raises(GrantError, match=message):
        tool_policy(manifest(SOURCE, TARGET), arguments, tool_dir="/tmp")


def test_a_folder_holding_toolsmiths_own_state_is_refused(toolsmith_home):
    data = Path(toolsmith_home, "data")
    os.makedirs(data)
    with pytest.raises(GrantError, match="toolsmith's own folder"):
        tool_policy(manifest(SOURCE, TARGET), {"target": str(toolsmith_home)}, tool_dir="/tmp")


@pytest.fixture
def fake_home(tmp_path, monkeypatch):
    home = tmp_path / "me"
    for store in (".ssh", ".gnupg", ".aws", ".config/gh", ".local/share/keyrings", ".mozilla/firefox", ".password-store"):
        (home / store).mkdir(parents=True)
    (home / "Documents").mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home


def _own_folder(which: str) -> Path:
    from toolsmith.core.base import paths

    folder = {"config": paths.config_dir(), "plugins": paths.plugins_dir(), "data": paths.data_dir(),
              "runs": paths.data_dir() / "runs", "cache": paths.cache_dir(), "tools": paths.tools_dir() / "other-tool"}[which]
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.mark.parametrize(
    "where, rule",
    [
        ("/", "whole filesystem"),
        ("~", "home folder"),
        *[(f"own:{w}", "toolsmith's own folders") for w in ("config", "plugins", "data", "runs", "cache", "tools")],
        *[(f"link:{w}", "toolsmith's own folders") for w in ("plugins", "runs")],
        ("home-of-toolsmith", "toolsmith's own folders"),
        *[(p, "system folders") for p in ("/etc", "/usr/lib", "/boot", "/dev", "/proc", "/sys", "/run", "/var/tmp", "/bin", "/lib")],
        *[(f"~/{s}", "credential stores") for s in (".ssh", ".gnupg", ".aws", ".config/gh", ".local/share/keyrings",
                                                       ".mozilla/firefox", ".password-store")],
        ("~/.config", "credential stores"),  # holds ~/.config/gh
        ("link:~/.ssh", "credential stores"),
    ],
)
@pytest.mark.parametrize("access", ["read", "write"])
def test_every_refused_folder_class_is_refused_naming_the_rule(where, rule, access, toolsmith_home, fake_home, tmp_path):
    if where.startswith("own:"):
        path = str(_own_folder(where[4:]))
    elif where.startswith("link:"):  # a symlink of the user's own, into a refused folder
        target = fake_home / ".ssh" if where == "link:~/.ssh" else _own_folder(where[5:])
        path = str(tmp_path / "innocent")
        os.symlink(target, path)
    elif where == "home-of-toolsmith":
        path = str(toolsmith_home)
    else:
        path = os.path.expanduser(where)
    if not os.path.exists(path):
        pytest.skip(f"{path} does not exist on this machine")
    param = Parameter(name="folder", kind="path", access=access, positional=True)
    with pytest.raises(GrantError) as raised:
        tool_policy(manifest(param), {"folder": path}, tool_dir="/tmp")
    message = str(raised.value)
    assert f"(rule: {rule})" in message and "\n" not in message
    assert repr(os.path.realpath(path)) in message  # the path judged: symlinks resolved


def test_a_folder_of_ones_own_is_granted(toolsmith_home, fake_home):
    param = Parameter(name="folder", kind="dir", access="write", positional=True)
    policy = tool_policy(manifest(param), {"folder": str(fake_home / "Documents")}, tool_dir="/tmp")
    assert policy.write_paths == [str(fake_home / "Documents")]


def test_the_sandbox_itself_never_grants_its_runs_folder(tmp_path):
    from toolsmith.sandbox import run_store
    from toolsmith.sandbox.errors import SandboxError
    from toolsmith.sandbox.policy import Policy

    runs = tmp_path / "runs"
    (runs / "x").mkdir(parents=True)
    for policy in (Policy(write_paths=[str(runs / "x")]), Policy(read_paths=[str(tmp_path)])):
        with pytest.raises(SandboxError, match=r"overlaps the runs folder .*\(rule: toolsmith's own folders\)"):
            run_store.run(runs, ["true"], policy)
