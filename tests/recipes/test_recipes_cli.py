"""`toolsmith recipes list | search | show` through the real command line."""

import json
import re
from pathlib import Path

from toolsmith.core.tools.recipes import recipes


def test_list_json_has_every_recipe_with_parameters(run_cli):
    result = run_cli("recipes", "list", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [row["name"] for row in rows] == sorted(recipes())
    rename = next(row for row in rows if row["name"] == "rename-photos-by-date")
    assert rename["parameters"][0] == {
        "name": "folder", "kind": "dir", "help": "folder of photos to rename", "access": "write", "positional": True, "required": True
    }


def test_list_text_shows_names_and_usage(run_cli):
    result = run_cli("recipes", "list")
    assert result.returncode == 0
    assert "rename-photos-by-date" in result.stdout and "[--dry-run]" in result.stdout


def test_search_json_ranks_the_fitting_recipe_first(run_cli):
    result = run_cli("recipes", "search", "--json", "--limit", "2", "give my holiday pictures the date they were shot as name")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert len(rows) == 2 and rows[0]["name"] == "rename-photos-by-date"
    assert 0 < rows[1]["score"] <= rows[0]["score"] <= 1


def test_search_text_and_nothing_found(run_cli):
    found = run_cli("recipes", "search", "unzip", "all", "archives")
    assert found.returncode == 0 and "extract-archives" in found.stdout
    nothing = run_cli("recipes", "search", "bake a chocolate cake")
    assert nothing.returncode == 0 and "no recipe matches" in nothing.stdout


def test_bad_search_input_is_a_one_line_error(run_cli):
    empty = run_cli("recipes", "search", "  ")
    assert empty.returncode == 1 and empty.stderr.startswith("error: the search is empty")
    assert "Traceback" not in empty.stderr
    bad_limit = run_cli("recipes", "search", "--limit", "0", "rename")
    assert bad_limit.returncode == 2 and "--limit" in bad_limit.stderr


def test_show_json_and_unknown_name(run_cli):
    shown = run_cli("recipes", "show", "split-file", "--json")
    assert shown.returncode == 0
    data = json.loads(shown.stdout)
    assert data["manifest"]["name"] == "split-file" and "def main(argv=None)" in data["source"] and data["phrasings"]
    unknown = run_cli("recipes", "show", "split-files")
    assert unknown.returncode == 1
    assert "no recipe named 'split-files'; did you mean 'split-file'?" in unknown.stderr


def test_run_help_shows_a_recipes_defaults(run_cli):
    assert run_cli("new", "find duplicate files").returncode == 0
    shown = run_cli("run", "find-duplicate-files", "--help")
    assert shown.returncode == 0 and "ignore files smaller than this many bytes (default 1)" in shown.stdout


def test_the_readme_quotes_what_new_prints(run_cli):
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    quoted = re.search(r"`(no model installed: using the built-in recipe rename-photos-by-date \(match [0-9.]+\))`", readme)
    result = run_cli("new", "rename photos by date")
    assert quoted and quoted.group(1) in result.stdout, result.stdout
