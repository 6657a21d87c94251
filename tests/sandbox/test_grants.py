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
    with pytest.raises(GrantError, match="holds toolsmith's own files"):
        tool_policy(manifest(SOURCE, TARGET), {"target": str(toolsmith_home)}, tool_dir="/tmp")
