"""The manifest's [trigger] section: strict, and checked against the tool's parameters."""

import pytest

from toolsmith.core.base import manifest
from toolsmith.core.base.manifest import ManifestError, Parameter, Trigger
from toolsmith.core.frontends.live.watch import WatchError, resolve_trigger, tool_args
from toolsmith.core.tools.library import Library

from .conftest import FOLDER, save_tool

BASE = b"""
name = "sort-photos"
description = "Sort photos"
created = 2026-11-26T09:00:00Z
updated = 2026-11-26T09:00:00Z

[[parameters]]
name = "inbox"
kind = "dir"
access = "write"
positional = true
required = true

[[parameters]]
name = "archive"
kind = "dir"
access = "write"
positional = true

[[parameters]]
name = "size"
kind = "int"
"""


def test_trigger_round_trips_with_its_defaults():
    m = manifest.decode(BASE + b'[trigger]\npath = "~/Pictures/incoming"\npatterns = ["*.jpg"]\nauto_apply = true\n')
    assert m.trigger == Trigger(path="~/Pictures/incoming", patterns=["*.jpg"], auto_apply=True, debounce_ms=500, parameter="", args=[])
    assert manifest.decode(manifest.encode(m)) == m
    assert manifest.trigger_parameter(m).name == "inbox"


@pytest.mark.parametrize(
    "section, error",
    [
        (b'patern = ["*.jpg"]', r"unknown key `patern` - at `\$.trigger`"),
        (b"debounce_ms = 0", r"Expected `int` >= 10 - at `\$.trigger.debounce_ms`"),
        (b'parameter = "size"', r"trigger.parameter 'size' is not a path or dir parameter"),
        (b'parameter = "archive"', r"trigger.parameter 'archive' must be the first positional parameter or an option"),
        (b'parameter = "nope"', r"trigger.parameter 'nope' is not a path or dir parameter"),
        (b'path = "incoming"', r"trigger.path 'incoming' must be absolute or start with ~"),
    ],
)
def test_bad_triggers_are_named(section, error):
    with pytest.raises(ManifestError, match=error):
        manifest.decode(BASE + b"[trigger]\n" + section + b"\n")


def test_a_trigger_needs_a_folder_parameter():
    text = BASE.replace(b'name = "inbox"\nkind = "dir"\naccess = "write"\n', b'name = "inbox"\nkind = "string"\n')
    with pytest.raises(ManifestError, match="first positional parameter is not a path or dir"):
        manifest.decode(text + b'[trigger]\npath = "/x"\n')


def test_the_command_line_overrides_the_trigger(tmp_path):
    save_tool("index", trigger=Trigger(path="/nowhere", patterns=["*.txt"], args=[]))
    tool = Library().load("index")
    trigger = resolve_trigger(tool, str(tmp_path), None, auto_apply=True, patterns=None, debounce_ms=None)
    assert (trigger.path, trigger.patterns, trigger.auto_apply) == (str(tmp_path), ["*.txt"], True)
    assert tool_args(tool, trigger, tmp_path) == [str(tmp_path)]


def test_an_option_parameter_gets_the_folder_as_an_option(tmp_path):
    source = Parameter(name="source", kind="dir", access="read", help="where files arrive")
    save_tool("index", parameters=[FOLDER, source], trigger=Trigger(parameter="source", args=["/out"]))
    tool = Library().load("index")
    trigger = resolve_trigger(tool, str(tmp_path))
    assert tool_args(tool, trigger, tmp_path) == ["--source", str(tmp_path), "/out"]


def test_a_relative_folder_on_the_command_line_is_taken_from_the_current_directory(tmp_path, monkeypatch):
    save_tool("index")
    monkeypatch.chdir(tmp_path)
    assert resolve_trigger(Library().load("index"), "inbox").path == str(tmp_path / "inbox")


def test_watching_needs_a_folder():
    save_tool("index")
    with pytest.raises(WatchError, match=r"no folder to watch: give one \(`toolsmith watch index PATH`\)"):
        resolve_trigger(Library().load("index"))
