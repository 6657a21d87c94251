"""Helpers for running recipes as real programs on files the tests make.

Fixture tests run every recipe twice: as a plain program, and the way `toolsmith run`
runs it: arguments mapped through its manifest, inside the sandbox, allowed only the
paths its manifest declares (so a wrong `access` in a manifest fails here).
"""

import os
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import pytest
from PIL import Image
from PIL.ExifTags import IFD, Base

from toolsmith.core.base import config
from toolsmith.core.tools import invocation as toolrun
from toolsmith.core.tools.library import Tool
from toolsmith.core.tools.recipes import recipes
from toolsmith.sandbox.launcher import SANDBOX_UID, execute

RECIPES = files("toolsmith.plugins.recipes")


def tool_path(name: str) -> Path:
    return Path(str(RECIPES / name / "tool.py"))


def run_plain(name: str, *args, check: bool = True) -> subprocess.CompletedProcess:
    """Run a recipe's tool.py with the current interpreter."""
    result = subprocess.run(
        [sys.executable, str(tool_path(name)), *map(str, args)], capture_output=True, text=True, timeout=60
    )
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def run_sandboxed(name: str, *args, check: bool = True) -> subprocess.CompletedProcess:
    """Run a recipe as `toolsmith run` does: manifest-mapped arguments, sandbox policy from the manifest."""
    recipe = recipes()[name]
    tool = Tool(manifest=recipe.manifest, source=recipe.source, path=tool_path(name).parent)
    call = toolrun.invocation(tool, [str(a) for a in args], Path.cwd())
    done = execute(call.argv, toolrun.policy_for(tool, call, config.load().sandbox))
    result = subprocess.CompletedProcess(call.argv, done.exit_code, done.stdout.decode(), done.stderr.decode())
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture(params=["plain", "sandbox"])
def run_tool(request, tmp_path):
    """`run(name, *args, check=True)` -> CompletedProcess, once plainly and once in the sandbox."""
    if request.param == "plain":
        return run_plain

    def run(name: str, *args, check: bool = True) -> subprocess.CompletedProcess:
        hand_over(tmp_path)
        return run_sandboxed(name, *args, check=check)

    return run


@pytest.fixture
def run_plain_tool():
    return run_plain


def hand_over(root: Path) -> None:
    """Make the test's files the sandbox user's, as a user's own files are theirs (tests may run as root)."""
    root.chmod(0o755)
    if os.geteuid() == 0:
        for path in [root, *root.rglob("*")]:
            os.chown(path, SANDBOX_UID, SANDBOX_UID, follow_symlinks=False)


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under `root` with its content (None for folders), to prove nothing changed."""
    return {
        p.relative_to(root).as_posix(): (None if p.is_dir() else p.read_bytes()) for p in sorted(root.rglob("*"))
    }


def names(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def photo(path: Path, taken: str | None = None, size=(64, 48), color="red", gps: bool = False) -> Path:
    """A JPEG whose EXIF says it was taken at `taken` ('YYYY:MM:DD HH:MM:SS'), optionally with a GPS position."""
    image = Image.new("RGB", size, color)
    exif = Image.Exif()
    if taken:
        exif[Base.Make] = "TestCam"
        exif.get_ifd(IFD.Exif)[Base.DateTimeOriginal] = taken
    if gps:
        exif.get_ifd(IFD.GPSInfo).update({1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 36.0)})
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format="JPEG", exif=exif.tobytes())
    return path


def exif_date(path: Path) -> str | None:
    with Image.open(path) as image:
        return image.getexif().get_ifd(IFD.Exif).get(Base.DateTimeOriginal)
