"""The example plugin distribution installs with pip and its hooks run."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).parent.parent / "examples" / "hello-plugin"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target", str(target), str(EXAMPLE)],
        check=True,
        capture_output=True,
    )
    return target


def run(installed, *args):
    env = {**os.environ, "PYTHONPATH": str(installed)}
    return subprocess.run([sys.executable, "-m", "toolsmith.core.frontends.cli", *args], capture_output=True, text=True, env=env, timeout=120)


def test_entry_point_plugin_is_listed_with_version(installed):
    result = run(installed, "plugins", "--json")
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["hello"]["hooks"] == ["toolsmith_check_source", "toolsmith_register_commands"]
    assert rows["hello"]["version"] == "0.1.0"


def test_its_command_runs(installed):
    result = run(installed, "hello", "Ada")
    assert (result.returncode, result.stdout) == (0, "hello, Ada!\n")


def test_its_check_runs(installed, tmp_path):
    tool = tmp_path / "tool.py"
    tool.write_text('def main():\n    pass  # TODO: write it\n\n\nif __name__ == "__main__":\n    main()\n')
    result = run(installed, "check", str(tool), "--json")
    found = [d for d in json.loads(result.stdout)["diagnostics"] if d["rule"] == "hello/todo"]
    assert [(d["line"], d["column"], d["severity"]) for d in found] == [(2, 13, "warning")]


def test_allowlist_can_exclude_it(installed):
    env = {**os.environ, "PYTHONPATH": str(installed), "TOOLSMITH_LOAD_PLUGINS": "python"}
    result = subprocess.run([sys.executable, "-m", "toolsmith.core.frontends.cli", "plugins", "--json"], capture_output=True, text=True, env=env)
    assert [row["name"] for row in json.loads(result.stdout)] == ["python"]
