"""`toolsmith new` with recipes: vetted first, an honest no when unsure, already-have-it, --recipe and --generate."""

import json

import pytest
from test_forge import GOOD, reply, run

from toolsmith.core.base import config as config_module
from toolsmith.core.forge import events as ev
from toolsmith.core.forge.pipeline import ForgeError, forge_new
from toolsmith.core.tools.library import Library

from scripted_engine import ScriptedEngine

UNSURE = "replace underscores with spaces in all the file names"  # two recipes fit about equally


@pytest.fixture
def config():
    return config_module.load()


def kinds(events):
    return [type(e).__name__ for e in events if not isinstance(e, ev.Token)]


def test_a_sure_recipe_is_used_even_with_a_model(config):
    engine = ScriptedEngine([reply(GOOD)])
    events = run(forge_new("delete files in Downloads older than 30 days", config, engine=engine))
    using = next(e for e in events if isinstance(e, ev.UsingRecipe))
    assert using.name == "delete-old-files" and "vetted recipe" in using.reason and "--generate" in using.reason
    assert engine.prompts == [] and events[-1].origin == "recipe"


def test_generate_asks_the_model_anyway(config):
    engine = ScriptedEngine([reply(GOOD)])
    events = run(forge_new("delete files in Downloads older than 30 days", config, engine=engine, generate=True))
    assert len(engine.prompts) == 1 and events[-1].origin == "model"


def test_generate_without_a_model_is_an_error(config):
    with pytest.raises(ForgeError, match="--generate needs a model"):
        run(forge_new("delete old files", config, engine=None, generate=True))


def test_when_the_model_fails_the_closest_recipe_is_offered(config):
    engine = ScriptedEngine(["no code here"] * 3)
    events = run(forge_new("strip the trailing spaces in my notes, and the tabs too", config, engine=engine, generate=True))
    assert isinstance(events[-1], ev.Error) and "nothing was saved" in events[-1].message
    assert "closest vetted recipe is strip-trailing-whitespace" in events[-1].message
    assert "toolsmith new --recipe strip-trailing-whitespace" in events[-1].message
    chosen = run(forge_new("strip the trailing spaces in my notes, and the tabs too", config, engine=ScriptedEngine(["no"] * 3),
                           generate=True, choose_recipe=lambda found: found[0].name))
    assert isinstance(chosen[-1], ev.Saved) and chosen[-1].name == "strip-trailing-whitespace"


def test_unsure_without_a_terminal_refuses_and_lists_the_candidates(config):
    events = run(forge_new(UNSURE, config, engine=None))
    unsure = next(e for e in events if isinstance(e, ev.Unsure))
    assert len(unsure.matches) == 3 and all(m.description for m in unsure.matches)
    assert isinstance(events[-1], ev.Error) and "not sure which recipe fits" in events[-1].message
    assert "replace-in-file-names" in events[-1].message and "--recipe NAME" in events[-1].message
    assert Library().names() == []


def test_unsure_on_a_terminal_asks_and_saves_the_choice(config):
    offered = []

    def choose(matches):
        offered.extend(m.name for m in matches)
        return matches[1].name

    events = run(forge_new(UNSURE, config, engine=None, choose_recipe=choose))
    assert len(offered) == 3 and events[-1].name == offered[1]
    cancelled = run(forge_new(UNSURE, config, engine=None, choose_recipe=lambda matches: None, name="other"))
    assert isinstance(cancelled[-1], ev.Error)


def test_recipe_by_name_and_unknown_names(config):
    events = run(forge_new("whatever words", config, engine=None, recipe="sort-lines"))
    assert events[-1].name == "sort-lines" and next(e for e in events if isinstance(e, ev.UsingRecipe)).reason == "chosen with --recipe"
    with pytest.raises(ForgeError, match="did you mean 'sort-lines'"):
        run(forge_new("whatever", config, engine=None, recipe="sort-line"))


def test_already_having_the_tool_says_how_to_run_it_and_name_saves_a_copy(config):
    run(forge_new("delete files older than 30 days", config, engine=None))
    again = run(forge_new("delete files in my downloads older than 14 days", config, engine=None))
    have = again[-1]
    assert isinstance(have, ev.AlreadyHave) and have.name == "delete-old-files"
    assert have.command == "toolsmith run delete-old-files FOLDER --days 14"
    copy = run(forge_new("delete files in my downloads older than 14 days", config, engine=None, name="old-downloads"))
    assert copy[-1].name == "old-downloads" and sorted(Library().names()) == ["delete-old-files", "old-downloads"]


def test_cli_unsure_in_json_is_an_unsure_event_then_an_error(run_cli):
    result = run_cli("new", UNSURE, "--json")
    assert result.returncode == 1
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["type"] for line in lines][-2:] == ["unsure", "error"]
    assert len(lines[-2]["matches"]) == 3


def test_cli_already_have_exits_0_and_recipe_option(run_cli):
    assert run_cli("new", "sort the lines in a file", "--recipe", "sort-lines").returncode == 0
    again = run_cli("new", "alphabetize my list", "--recipe", "sort-lines")
    assert again.returncode == 0 and "you already have this tool: sort-lines" in again.stdout
    assert "toolsmith run sort-lines FILE" in again.stdout
    both = run_cli("new", "x", "--recipe", "sort-lines", "--generate")
    assert both.returncode == 2 and "contradict" in both.stderr
