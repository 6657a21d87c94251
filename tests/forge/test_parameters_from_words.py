"""Parameters from the words, scored on requests kept apart: one set tuned on, one held
out (the scoring is benchmarks/parameters_from_words.py's)."""

import importlib.util
from pathlib import Path

import pytest

from toolsmith.core.tools.recipes import recipes

BENCHMARK = Path(__file__).parents[2] / "benchmarks" / "parameters_from_words.py"
spec = importlib.util.spec_from_file_location("parameters_from_words", BENCHMARK)
scoring = importlib.util.module_from_spec(spec)
spec.loader.exec_module(scoring)
TUNING, HELDOUT = scoring.SETS / "parameters_tuning.txt", scoring.SETS / "parameters_heldout.txt"


def test_every_case_names_a_recipe_and_its_parameters():
    for path in (TUNING, HELDOUT):
        for recipe, _, expected in scoring.cases(path):
            assert set(expected) <= {p.name for p in recipes()[recipe].manifest.parameters}, (recipe, expected)


@pytest.mark.parametrize("recipe,request_text,expected", scoring.cases(TUNING))
def test_tuning_request(recipe, request_text, expected):
    assert scoring.filled(recipe, request_text) == expected


def test_held_out_requests_are_never_filled_wrongly():
    tally = scoring.score(HELDOUT)
    not_right = [case for case in tally["cases"] if case["verdict"] != "right"]
    assert tally["wrong"] == 0, not_right
    assert tally["right"] >= 0.9 * tally["requests"], not_right


def test_new_shows_the_values_from_the_words_and_the_tool_uses_them(run_cli, tmp_path):
    from PIL import Image

    made = run_cli("new", "shrink all images in a folder so none is wider than 800 pixels")
    assert made.returncode == 0 and "from your words: --width 800\n" in made.stdout
    assert made.stdout.index("from your words") < made.stdout.index("saved resize-images")
    Image.new("RGB", (1000, 2000), "red").save(tmp_path / "tall.png")
    assert run_cli("run", "resize-images", tmp_path, "--yes").returncode == 0
    with Image.open(tmp_path / "resized" / "tall.png") as image:
        assert image.size == (800, 1600)  # the width limited, not the longest side

    made = run_cli("new", "turn a spreadsheet saved as csv into a json file")
    assert made.returncode == 0 and "from your words: --save\n" in made.stdout
    (tmp_path / "sales.csv").write_text("item,n\npen,3\n")
    ran = run_cli("run", "csv-to-json", tmp_path / "sales.csv", "--yes")
    assert ran.returncode == 0, ran.stderr
    assert (tmp_path / "sales.json").is_file()
