"""Helpers shared by the live-development tests: real tools saved in the library, folders the sandbox user owns."""

import os
from pathlib import Path

import pytest

from toolsmith.core.base.manifest import Manifest, Parameter, Trigger, now
from toolsmith.core.tools.library import Library
from toolsmith.sandbox.launcher import SANDBOX_UID

# Writes INDEX: the names of the folder's *.txt files, one a line.
INDEX_TOOL = '''import argparse
import pathlib


def main(argv=None):
    parser = argparse.ArgumentParser(description="list the text files of a folder in INDEX")
    parser.add_argument("folder")
    args = parser.parse_args(argv)
    folder = pathlib.Path(args.folder)
    names = sorted(p.name for p in folder.glob("*.txt"))
    (folder / "INDEX").write_text("".join(name + "\\n" for name in names))


if __name__ == "__main__":
    main()
'''

FOLDER = Parameter(name="folder", kind="dir", access="write", positional=True, required=True, help="the folder to index")


def save_tool(name: str, source: str = INDEX_TOOL, trigger: Trigger | None = None, parameters=(FOLDER,)) -> None:
    stamp = now()
    manifest = Manifest(name=name, description=f"{name} (a test tool)", parameters=list(parameters), created=stamp, updated=stamp, trigger=trigger)
    Library().save(manifest, source)


def give_to_tool_user(path: Path) -> None:
    """As root the sandbox runs tools as SANDBOX_UID; the user's files must be theirs."""
    if os.geteuid() == 0:
        for p in [path, *path.rglob("*")]:
            os.chown(p, SANDBOX_UID, SANDBOX_UID)


@pytest.fixture
def inbox(tmp_path):
    folder = tmp_path / "inbox"
    folder.mkdir()
    give_to_tool_user(folder)
    return folder
