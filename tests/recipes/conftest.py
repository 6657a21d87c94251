"""Helpers for running recipes as real programs on files the tests make."""

import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import pytest
from PIL import Image
from PIL.ExifTags import IFD, Base

RECIPES = files("toolsmith.plugins.recipes")


def tool_path(name: str) -> Path:
    return Path(str(RECIPES / name / "tool.py"))


@pytest.fixture
def run_tool():
    """Run a recipe's tool.py with the current interpreter; returns the CompletedProcess."""

    def run(name: str, *args, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [sys.executable, str(tool_path(name)), *map(str, args)], capture_output=True, text=True, timeout=60
        )
        if check:
            assert result.returncode == 0, result.stdout + result.stderr
        return result

    return run


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
