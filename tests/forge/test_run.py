"""`toolsmith run` end to end: a recipe tool renames real photos in the sandbox; undo restores them."""

import json
import os
from pathlib import Path

import pytest
from PIL import Image

from toolsmith.core.base import config
from toolsmith.core.tools.grants import GrantError
from toolsmith.core.tools.invocation import invocation, policy_for
from toolsmith.core.tools.library import Library
from toolsmith.sandbox.launcher import SANDBOX_UID

EXIF_IFD, DATE_TIME_ORIGINAL = 0x8769, 0x9003


def photo(path: Path, taken: str | None) -> None:
    image = Image.new("RGB", (16, 12), (200, 120, 40))
    exif = image.getexif()
    if taken:
        exif.get_ifd(EXIF_IFD)[DATE_TIME_ORIGINAL] = taken
    image.save(path, exif=exif)


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / "holiday"
    folder.mkdir()
    photo(folder / "IMG_0001.jpg", "2024:07:14 15:30:12")
    photo(folder / "IMG_0002.jpg", "2023:01:02 08:00:00")
    (folder / "notes.txt").write_text("not a photo\n")
    give_to_tool_user(folder)
    return folder


def give_to_tool_user(folder: Path) -> None:
    """The user's own files: as root, the sandbox runs tools as SANDBOX_UID, so they own them."""
    if os.geteuid() == 0:
        for path in [folder, *folder.rglob("*")]:
            os.chown(path, SANDBOX_UID, SANDBOX_UID)


def listing(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_new_run_undo_renames_photos_by_date(run_cli, photos):
    before = listing(photos)
    assert run_cli("new", "rename photos by date").returncode == 0

    preview = run_cli("run", "--preview", "--json", "rename-photos-by-date", photos)
    assert preview.returncode == 0, preview.stderr
    planned = json.loads(preview.stdout.splitlines()[-1])
    assert planned["type"] == "planned" and planned["changes"] == 2
    assert listing(photos) == before  # a preview changes nothing

    applied = run_cli("run", "--yes", "--json", "rename-photos-by-date", photos)
    assert applied.returncode == 0, applied.stderr
    last = json.loads(applied.stdout.splitlines()[-1])
    assert last["type"] == "applied"
    after = listing(photos)
    assert sorted(after) == ["2023-01-02_08-00-00.jpg", "2024-07-14_15-30-12.jpg", "notes.txt"]
    assert after["2024-07-14_15-30-12.jpg"] == before["IMG_0001.jpg"]

    undone = run_cli("undo", last["run_id"], "--json")
    assert undone.returncode == 0, undone.stderr
    assert json.loads(undone.stdout) == {"type": "undone", "run_id": last["run_id"], "state": "undone"}
    assert listing(photos) == before

    again = run_cli("undo", last["run_id"], "--json")
    assert again.returncode == 1
    assert json.loads(again.stdout.splitlines()[-1])["type"] == "error"


def test_run_without_yes_when_not_interactive_applies_nothing(run_cli, photos):
    before = listing(photos)
    run_cli("new", "rename photos by date")
    result = run_cli("run", "rename-photos-by-date", photos)
    assert result.returncode == 1 and "pass --yes" in result.stderr
    assert "renamed" in result.stdout  # the plan was shown
    assert listing(photos) == before


def test_run_shows_the_tools_own_help(run_cli):
    run_cli("new", "rename photos by date")
    result = run_cli("run", "rename-photos-by-date", "--help")
    assert result.returncode == 0 and "usage: toolsmith run rename-photos-by-date" in result.stdout
    assert "folder" in result.stdout


def test_bad_arguments_are_clear(run_cli, tmp_path):
    run_cli("new", "rename photos by date")
    missing = run_cli("run", "rename-photos-by-date")
    assert missing.returncode == 1 and "the following arguments are required: folder" in missing.stderr
    unknown = run_cli("run", "rename-photos-by-date", tmp_path, "--colour", "red")
    assert unknown.returncode == 1 and "unrecognized arguments: --colour red" in unknown.stderr


def test_invocation_allows_only_the_paths_given(tmp_path, run_cli, toolsmith_home):
    run_cli("new", "find large files")
    tool = Library().load("find-large-files")
    folder = tmp_path / "downloads"
    folder.mkdir()
    inv = invocation(tool, [str(folder)], Path("/"))
    policy = policy_for(tool, inv, config.load().sandbox)
    assert policy.read_paths == [str(tool.path), str(folder)]
    assert policy.write_paths == []
    assert str(folder) in inv.argv
    with pytest.raises(GrantError, match="does not exist"):
        policy_for(tool, invocation(tool, [str(folder / "nope")], Path("/")), config.load().sandbox)
    with pytest.raises(GrantError, match="toolsmith's own folder"):
        policy_for(tool, invocation(tool, [str(toolsmith_home)], Path("/")), config.load().sandbox)


def test_a_failing_tool_changes_nothing(run_cli, tmp_path):
    script = tmp_path / "wipe.py"
    script.write_text(
        "import argparse\nfrom pathlib import Path\n\n\ndef main(argv=None):\n"
        "    p = argparse.ArgumentParser()\n    p.add_argument('output_dir')\n    a = p.parse_args(argv)\n"
        "    for f in Path(a.output_dir).iterdir():\n        f.unlink()\n    raise SystemExit(2)\n\n\n"
        "if __name__ == '__main__':\n    main()\n"
    )
    assert run_cli("import", script).returncode == 0
    target = tmp_path / "data"
    target.mkdir()
    (target / "keep.txt").write_text("precious")
    give_to_tool_user(target)
    result = run_cli("run", "--yes", "wipe", target)
    assert result.returncode == 1 and "exited with code 2" in result.stderr
    assert (target / "keep.txt").read_text() == "precious"
    assert os.listdir(target) == ["keep.txt"]


def test_one_letter_options_use_a_single_dash(tmp_path, run_cli):
    script = tmp_path / "head.py"
    script.write_text(
        "import argparse\n\n\ndef main(argv=None):\n    p = argparse.ArgumentParser()\n"
        "    p.add_argument('input_file')\n    p.add_argument('-n', type=int, default=5)\n"
        "    p.add_argument('--show-all', action='store_true')\n    a = p.parse_args(argv)\n"
        "    print(open(a.input_file).read().splitlines()[: a.n])\n\n\nif __name__ == '__main__':\n    main()\n"
    )
    assert run_cli("import", script).returncode == 0
    tool = Library().load("head")
    assert [p.name for p in tool.manifest.parameters] == ["input_file", "n", "show-all"]
    inv = invocation(tool, [str(script), "-n", "2", "--show-all"], Path("/"))
    assert inv.argv[-4:] == [str(script), "-n", "2", "--show-all"]


def test_json_errors_are_json_lines(run_cli, tmp_path):
    missing = run_cli("run", "--json", "no-such-tool", tmp_path)
    assert missing.returncode == 1
    assert json.loads(missing.stdout) == {"type": "error", "message": "no tool named 'no-such-tool' (see `toolsmith list`)"}
    empty = run_cli("new", "   ", "--json")
    assert empty.returncode == 1 and json.loads(empty.stdout)["type"] == "error"


def test_toolsmiths_own_options_after_the_name_are_toolsmiths(run_cli, photos):
    assert run_cli("new", "rename photos by date").returncode == 0
    ran = run_cli("run", "rename-photos-by-date", photos, "--yes", "--json")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert json.loads(ran.stdout.splitlines()[-1])["type"] == "applied"


def test_an_unknown_run_option_before_the_name_is_a_usage_error(run_cli, tmp_path):
    result = run_cli("run", "--frobnicate", "some-tool", tmp_path)
    assert result.returncode == 2 and "--frobnicate" in result.stderr


def test_a_missing_folder_is_named_as_given(run_cli, tmp_path):
    assert run_cli("new", "rename photos by date").returncode == 0
    missing = tmp_path / "does" / "not" / "exist"
    result = run_cli("run", "rename-photos-by-date", missing)
    assert result.returncode == 1
    assert f"'{missing}' does not exist, and its folder '{missing.parent}' does not either" in result.stderr
