"""The second example distribution (examples/notes-pack): pip-installed, its recipes make working tools."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from toolsmith.core.base.manifest import decode
from toolsmith.core.tools.checks import check_source
from toolsmith.core.tools.languages import get_language

from .conftest import give_to_tool_user

PACK = Path(__file__).parents[2] / "examples" / "notes-pack"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target", str(target), str(PACK)],
        check=True,
        capture_output=True,
    )
    return target


@pytest.fixture
def cli(installed, toolsmith_home):
    def run(*args):
        env = {**os.environ, "PYTHONPATH": str(installed), "TOOLSMITH_HOME": str(toolsmith_home)}
        return subprocess.run([sys.executable, "-m", "toolsmith.core.frontends.cli", *map(str, args)], capture_output=True, text=True, env=env, timeout=120)

    return run


@pytest.fixture
def notes(tmp_path):
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "zebra.md").write_text("# Zebra facts\nstripes   \n")
    (folder / "apples.md").write_text("no heading here\n")
    (folder / "todo.txt").write_text("buy milk\t\nclean\n")
    (folder / "clean.txt").write_text("nothing to trim\n")
    give_to_tool_user(folder)
    return folder


def test_the_pack_is_listed_with_its_hook_and_version(cli):
    rows = {row["name"]: row for row in json.loads(cli("plugins", "--json").stdout)}
    assert rows["notes-pack"]["hooks"] == ["toolsmith_register_recipes"]
    assert rows["notes-pack"]["version"] == "0.1.0"


def test_its_recipes_pass_the_checks():
    folders = sorted((PACK / "toolsmith_notes_pack" / "recipes").iterdir())
    assert [f.name for f in folders] == ["index-markdown-notes", "trim-trailing-spaces"]
    for folder in folders:
        manifest = decode((folder / "tool.toml").read_bytes())
        source = (folder / get_language(manifest.language).source_file).read_text()
        assert check_source(source, manifest, manifest.language) == [], folder.name


def test_a_request_in_plain_words_makes_the_index_tool_and_it_runs(cli, notes):
    made = cli("new", "keep an index of the markdown notes in my folder", "--json")
    saved = [json.loads(line) for line in made.stdout.splitlines() if '"saved"' in line]
    assert saved and saved[0]["name"] == "index-markdown-notes", made.stdout + made.stderr

    ran = cli("run", "--yes", "index-markdown-notes", notes, "--title", "My notes")
    assert ran.returncode == 0, ran.stderr
    assert (notes / "index.md").read_text() == "# My notes\n\n- [apples](apples.md)\n- [Zebra facts](zebra.md)\n"


def test_the_bash_recipe_trims_only_the_files_that_need_it(cli, notes):
    # the built-in strip-trailing-whitespace does the same; naming the pack's recipe picks it for sure
    assert cli("new", "trim trailing spaces in my text files").returncode == 0
    preview = cli("run", "--preview", "--json", "trim-trailing-spaces", notes)
    planned = json.loads(preview.stdout.splitlines()[-1])
    assert (planned["type"], planned["summary"]) == ("planned", "2 modified"), preview.stderr
    assert cli("runs", "apply", planned["run_id"]).returncode == 0
    assert (notes / "zebra.md").read_text() == "# Zebra facts\nstripes\n"
    assert (notes / "todo.txt").read_text() == "buy milk\nclean\n"


def test_the_recipe_trigger_lets_watch_keep_the_index_current(cli, installed, toolsmith_home, notes):
    assert cli("new", "make an index of my markdown notes").returncode == 0
    env = {**os.environ, "PYTHONPATH": str(installed), "TOOLSMITH_HOME": str(toolsmith_home)}
    command = [sys.executable, "-m", "toolsmith.core.frontends.cli", "watch", "--json", "--auto-apply", "--debounce-ms", "200", "index-markdown-notes", str(notes)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        watching = json.loads(process.stdout.readline())
        assert (watching["type"], watching["patterns"]) == ("watching", ["*.md"])  # from the recipe's [trigger]
        (notes / "mangoes.md").write_text("# Mangoes\n")
        (notes / "ignored.txt").write_text("not a note\n")
        events = [json.loads(process.stdout.readline()) for _ in range(3)]
        assert [e["type"] for e in events] == ["changed", "previewed", "applied"]
        assert events[0]["files"] == ["mangoes.md"]
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=60)
    assert process.returncode == 0
    assert "- [Mangoes](mangoes.md)" in (notes / "index.md").read_text()
