"""`toolsmith watch` end to end: photos landing in a folder are renamed by date, until Ctrl-C."""

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import msgspec
from PIL import Image

from toolsmith.core.base.manifest import Trigger
from toolsmith.core.tools.library import Library
from toolsmith.core.tools.recipes import recipes

from .conftest import give_to_tool_user

EXIF_IFD, DATE_TIME_ORIGINAL = 0x8769, 0x9003


def photo(path: Path, taken: str) -> None:
    image = Image.new("RGB", (16, 12), (30, 90, 200))
    exif = image.getexif()
    exif.get_ifd(EXIF_IFD)[DATE_TIME_ORIGINAL] = taken
    image.save(path, exif=exif)
    give_to_tool_user(path)


def save_recipe_with_trigger(folder: Path) -> None:
    recipe = recipes()["rename-photos-by-date"]
    trigger = Trigger(path=str(folder), patterns=["*.jpg"], debounce_ms=300, auto_apply=True)
    Library().save(msgspec.structs.replace(recipe.manifest, trigger=trigger), recipe.source)


def events(process):
    for line in process.stdout:
        yield json.loads(line)


def test_watch_renames_new_photos_as_they_land_until_interrupted(inbox, toolsmith_home):
    save_recipe_with_trigger(inbox)
    process = subprocess.Popen(
        [sys.executable, "-m", "toolsmith.core.frontends.cli", "watch", "--json", "rename-photos-by-date"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TOOLSMITH_HOME": str(toolsmith_home)},
    )
    try:
        stream = events(process)
        assert next(stream) == {"type": "watching", "tool": "rename-photos-by-date", "folder": str(inbox), "patterns": ["*.jpg"], "auto_apply": True}
        photo(inbox / "IMG_0001.jpg", "2024:07:14 15:30:12")
        photo(inbox / "IMG_0002.jpg", "2023:01:02 08:00:00")
        assert next(stream) == {"type": "changed", "files": ["IMG_0001.jpg", "IMG_0002.jpg"]}
        previewed = next(stream)
        assert (previewed["type"], previewed["summary"]) == ("previewed", "2 renamed")
        assert next(stream) == {"type": "applied", "run_id": previewed["run_id"]}
        assert sorted(os.listdir(inbox)) == ["2023-01-02_08-00-00.jpg", "2024-07-14_15-30-12.jpg"]

        photo(inbox / "IMG_0003.jpg", "2025:12:31 23:59:59")
        assert next(stream) == {"type": "changed", "files": ["IMG_0003.jpg"]}  # not the renamed ones
        assert next(stream)["summary"] == "1 renamed"
        assert next(stream)["type"] == "applied"
        assert "2025-12-31_23-59-59.jpg" in os.listdir(inbox)
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert out == ""


def test_watch_without_a_folder_says_how_to_give_one(run_cli):
    recipe = recipes()["rename-photos-by-date"]
    Library().save(recipe.manifest, recipe.source)
    result = run_cli("watch", "rename-photos-by-date")
    assert result.returncode == 1
    assert result.stderr == "error: no folder to watch: give one (`toolsmith watch rename-photos-by-date PATH`) or set path in the tool's [trigger]\n"


def test_on_a_terminal_each_run_waits_for_confirmation(inbox, toolsmith_home):
    recipe = recipes()["rename-photos-by-date"]
    Library().save(recipe.manifest, recipe.source)
    env = {**os.environ, "TOOLSMITH_HOME": str(toolsmith_home)}
    pid, terminal = pty.fork()
    if pid == 0:  # the child: `toolsmith watch` on a real terminal
        os.execve(sys.executable, [sys.executable, "-m", "toolsmith.core.frontends.cli", "watch", "--debounce-ms", "200", "rename-photos-by-date", str(inbox)], env)
    screen = bytearray()

    def wait_for(text: bytes) -> None:
        deadline = time.monotonic() + 60
        while text not in screen:
            assert time.monotonic() < deadline, screen.decode(errors="replace")
            if select.select([terminal], [], [], 0.2)[0]:
                screen.extend(os.read(terminal, 4096))

    try:
        wait_for(b"previews each run for you to apply")
        photo(inbox / "IMG_0001.jpg", "2024:07:14 15:30:12")
        wait_for(b"apply these changes? [y/N]")
        assert b"renamed   IMG_0001.jpg -> 2024-07-14_15-30-12.jpg" in screen
        assert os.listdir(inbox) == ["IMG_0001.jpg"]  # nothing changes before the answer
        os.write(terminal, b"y\n")
        wait_for(b"undo with")
        assert os.listdir(inbox) == ["2024-07-14_15-30-12.jpg"]
    finally:
        os.kill(pid, signal.SIGINT)
        _, status = os.waitpid(pid, 0)
        os.close(terminal)
    assert os.waitstatus_to_exitcode(status) == 0
