"""The forge end to end with a scripted engine double (happy paths) and the recipe fallback."""

import json
import textwrap

import msgspec
import pytest

from toolsmith.core.base import config as config_module
from toolsmith.core.forge import events as ev
from toolsmith.core.forge.pipeline import ForgeError, forge_edit, forge_new
from toolsmith.core.tools.library import Library
from toolsmith.core.tools.retrieval import SURE

from scripted_engine import ScriptedEngine

MANIFEST = textwrap.dedent(
    """\
    name = "shout-file"
    description = "Print a text file in capital letters"

    [[parameters]]
    name = "file"
    kind = "file"
    access = "read"
    positional = true
    required = true
    help = "the text file"
    """
)

GOOD = textwrap.dedent(
    '''\
    """Print a text file in capital letters."""
    import argparse
    from pathlib import Path


    def main(argv=None):
        parser = argparse.ArgumentParser(description="Print a text file in capital letters")
        parser.add_argument("file", help="the text file")
        args = parser.parse_args(argv)
        print(Path(args.file).read_text().upper(), end="")


    if __name__ == "__main__":
        main()
    '''
)

BROKEN = GOOD.replace('parser.add_argument("file", help="the text file")', 'parser.add_argument("file", help="the text file"')


def reply(source: str, manifest: str = MANIFEST) -> str:
    return f"Here is the tool.\n\n```toml\n{manifest}```\n\n```python\n{source}```\n"


def run(stream):
    return list(stream)


@pytest.fixture
def config():
    return config_module.load()


def test_repair_after_a_syntax_error(config):
    engine = ScriptedEngine([reply(BROKEN), reply(GOOD)])
    events = run(forge_new("print a file in capitals", config, engine=engine))
    kinds = [type(e).__name__ for e in events if not isinstance(e, ev.Token)]
    assert kinds == ["Started", "RecipesFound", "Attempt", "Checked", "Attempt", "Checked", "SmokeRun", "Saved"]
    first_check = [e for e in events if isinstance(e, ev.Checked)][0]
    (syntax,) = first_check.errors
    assert (syntax.rule, syntax.line) == ("syntax", 8)
    # The diagnostic, with its snippet, went back to the model in the second prompt.
    assert "8:" in engine.prompts[1] and "syntax" in engine.prompts[1] and "^" in engine.prompts[1]
    tokens = "".join(e.text for e in events if isinstance(e, ev.Token))
    assert tokens == reply(BROKEN) + reply(GOOD)
    saved = events[-1]
    assert (saved.name, saved.version, saved.origin) == ("shout-file", 1, "model")
    tool = Library().load("shout-file")
    assert tool.source == GOOD and tool.manifest.origin == "model"
    assert tool.manifest.parameters[0].access == "read"


def test_recipes_are_worked_examples_in_the_prompt(config):
    engine = ScriptedEngine([reply(GOOD)])
    run(forge_new("rename my photos by the date they were taken", config, engine=engine, generate=True))
    assert "```toml\nname = \"rename-photos-by-date\"" in engine.prompts[0]
    assert "def main(argv=None)" in engine.prompts[0]


def test_reply_without_code_fails_cleanly_and_saves_nothing(config):
    engine = ScriptedEngine(["I cannot help with that."] * 3)
    events = run(forge_new("print a file in capitals", config, engine=engine))
    assert isinstance(events[-1], ev.Error) and "nothing was saved" in events[-1].message
    checks = [e for e in events if isinstance(e, ev.Checked)]
    assert [d.rule for c in checks for d in c.diagnostics] == ["no-code"] * 3
    assert Library().names() == []


def test_a_tool_that_crashes_on_help_is_repaired(config):
    crashing = GOOD.replace("    args = parser.parse_args(argv)\n", "    if parser:\n        raise SystemExit(3)\n    args = parser.parse_args(argv)\n")
    engine = ScriptedEngine([reply(crashing), reply(GOOD)])
    events = run(forge_new("print a file in capitals", config, engine=engine))
    smokes = [e for e in events if isinstance(e, ev.SmokeRun)]
    assert [s.ok for s in smokes] == [False, True]
    assert smokes[0].exit_code == 3
    assert "Running `--help` failed" in engine.prompts[1]
    assert isinstance(events[-1], ev.Saved)


def test_a_tool_that_hangs_in_the_smoke_run_is_not_saved(config, monkeypatch):
    monkeypatch.setattr("toolsmith.core.forge.smoke.SMOKE_TIMEOUT", 2.0)
    hanging = GOOD.replace("    args = parser.parse_args(argv)\n", "    while True:\n        pass\n    args = parser.parse_args(argv)\n")
    engine = ScriptedEngine([reply(hanging)] * 3)
    events = run(forge_new("print a file in capitals", config, engine=engine))
    smokes = [e for e in events if isinstance(e, ev.SmokeRun)]
    assert smokes and all(s.exit_code == 124 and not s.ok for s in smokes)
    assert "timed out" in smokes[0].output
    assert isinstance(events[-1], ev.Error) and Library().names() == []


def test_forbidden_code_goes_back_to_the_model(config):
    evil = GOOD.replace("import argparse\n", "import argparse\nimport os\n").replace(
        "    args = parser.parse_args(argv)\n", "    args = parser.parse_args(argv)\n    os.system('true')\n"
    )
    engine = ScriptedEngine([reply(evil), reply(GOOD)])
    events = run(forge_new("print a file in capitals", config, engine=engine))
    assert [d.rule for d in [e for e in events if isinstance(e, ev.Checked)][0].errors] == ["forbidden-call"]
    assert isinstance(events[-1], ev.Saved)


def test_edit_shows_a_diff_and_keeps_history(config):
    run(forge_new("print a file in capitals", config, engine=ScriptedEngine([reply(GOOD)])))
    edited = GOOD.replace(".upper()", ".upper().replace('!', '!!')")
    engine = ScriptedEngine([reply(edited)])
    events = run(forge_edit("shout-file", "double every exclamation mark", config, engine=engine))
    (diff,) = [e for e in events if isinstance(e, ev.Diff)]
    assert "-    print(Path(args.file).read_text().upper(), end=\"\")" in diff.text
    assert "+    print(Path(args.file).read_text().upper().replace('!', '!!'), end=\"\")" in diff.text
    assert events[-1] == ev.Saved(name="shout-file", version=2, origin="model", path=events[-1].path)
    library = Library()
    assert [v.number for v in library.history("shout-file")] == [1, 2]
    assert library.version("shout-file", 1).source == GOOD
    assert "double every exclamation mark" in engine.prompts[0] and GOOD in engine.prompts[0]


def test_edit_without_a_model_is_a_clear_error(config):
    run(forge_new("print a file in capitals", config, engine=ScriptedEngine([reply(GOOD)])))
    with pytest.raises(ForgeError, match="needs a model"):
        run(forge_edit("shout-file", "also lowercase", config, engine=None))


def test_name_clash(config):
    run(forge_new("print a file in capitals", config, engine=ScriptedEngine([reply(GOOD)])))
    events = run(forge_new("print a file in capitals", config, engine=ScriptedEngine([reply(GOOD)])))
    assert isinstance(events[-1], ev.Error) and "--name" in events[-1].message
    events = run(forge_new("print a file in capitals", config, engine=ScriptedEngine([reply(GOOD)]), choose_name=lambda taken: "shout-2"))
    assert events[-1].name == "shout-2"
    events = run(forge_new("print a file in capitals", config, engine=ScriptedEngine([reply(GOOD)]), name="loud"))
    assert events[-1].name == "loud"
    assert Library().names() == ["loud", "shout-2", "shout-file"]


@pytest.mark.parametrize("description, message", [("   ", "empty"), ("x" * 100_000, "100,000 characters")])
def test_bad_descriptions(config, description, message):
    with pytest.raises(ForgeError, match=message):
        run(forge_new(description, config, engine=ScriptedEngine([])))


def test_interrupted_generation_saves_nothing(config):
    engine = ScriptedEngine([reply(GOOD)], chunk=3)
    stream = forge_new("print a file in capitals", config, engine=engine)
    for event in stream:
        if isinstance(event, ev.Token):
            break
    stream.close()  # what Ctrl-C does to the generator
    assert engine.aborted == 1
    assert Library().names() == []


# -- without a model: recipes ----------------------------------------------------


def test_no_model_uses_the_best_recipe(config):
    events = run(forge_new("rename photos by date", config, engine=None))
    using = [e for e in events if isinstance(e, ev.UsingRecipe)][0]
    assert using.name == "rename-photos-by-date" and using.score >= SURE
    assert events[-1].origin == "recipe"
    assert Library().load("rename-photos-by-date").manifest.origin == "recipe"


def test_no_model_and_no_fitting_recipe(config):
    events = run(forge_new("bake a chocolate cake for my grandmother", config, engine=None))
    assert isinstance(events[-1], ev.Error)
    assert "no built-in recipe fits" in events[-1].message and "toolsmith models add" in events[-1].message
    assert Library().names() == []


def test_cli_new_json_lines(run_cli):
    result = run_cli("new", "rename photos by date", "--json")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert all("type" in line for line in lines)
    assert lines[-1]["type"] == "saved" and lines[-1]["name"] == "rename-photos-by-date"
    text = run_cli("new", "rename photos by date", "--name", "photos-2")
    assert "no model installed: using the built-in recipe rename-photos-by-date (match" in text.stdout


def test_cli_new_error_json(run_cli):
    result = run_cli("new", "bake a chocolate cake", "--json")
    assert result.returncode == 1
    assert json.loads(result.stdout.splitlines()[-1])["type"] == "error"


def test_edit_keeps_the_trigger_and_a_manifest_echo_is_accepted(config):
    from toolsmith.core.base.manifest import Trigger

    folder_manifest = MANIFEST.replace('kind = "file"', 'kind = "dir"')
    folder_tool = GOOD.replace("Path(args.file).read_text()", "str(sorted(Path(args.file).iterdir()))")
    run(forge_new("list a folder", config, engine=ScriptedEngine([reply(folder_tool, folder_manifest)])))
    library = Library()
    current = library.load("shout-file")
    library.save(msgspec.structs.replace(current.manifest, trigger=Trigger(path="~/inbox", auto_apply=False)), current.source)
    engine = ScriptedEngine([reply(folder_tool.replace("sorted(", "sorted(reverse=True, iterable="), folder_manifest)])
    events = run(forge_edit("shout-file", "list newest first", config, engine=engine))
    assert isinstance(events[-1], ev.Saved), events[-1]
    assert library.load("shout-file").manifest.trigger == Trigger(path="~/inbox")
    # The model is shown the manifest as it may write it back: no timestamps, origin or trigger.
    assert "created" not in engine.prompts[0].split("Here is an existing tool")[1]
    assert "[trigger]" not in engine.prompts[0]


def test_lint_findings_go_back_to_the_model(config):
    sloppy = GOOD.replace("def main(argv=None):", "def main(argv=None, seen=[]):").replace(
        '    print(Path(args.file).read_text().upper(), end="")', '    print(Path(args.file).read_text().upper(), end=endings)'
    )
    engine = ScriptedEngine([reply(sloppy), reply(GOOD)])
    events = run(forge_new("print a file in capitals", config, engine=engine))
    first = [e for e in events if isinstance(e, ev.Checked)][0]
    assert [(d.rule, d.line) for d in first.errors] == [("F821", 10)]  # undefined name: an error
    assert ("B006", 6, "warning") in [(d.rule, d.line, d.severity) for d in first.diagnostics]  # mutable default
    repair = engine.prompts[1].split("The tool failed these checks")[1]
    assert "10:" in repair and "F821" in repair and "Warnings, worth fixing too" in repair and "B006" in repair
    assert isinstance(events[-1], ev.Saved)


class RecordingEngine(ScriptedEngine):
    """A scripted engine that keeps the sampling parameters of each request."""

    def __init__(self, replies):
        super().__init__(replies)
        self.params = []

    def generate(self, prompt, params, request_id=None):
        self.params.append(params)
        return super().generate(prompt, params, request_id)


class GrammarEngine(RecordingEngine):
    constraints = frozenset({"json", "lark"})  # as the native engine says


def test_an_engine_that_enforces_grammars_is_held_to_the_reply_format(config):
    from toolsmith.core.forge.reply_format import GRAMMAR

    held, free = GrammarEngine([reply(GOOD)]), RecordingEngine([reply(GOOD)])
    run(forge_new("print a file in capitals", config, engine=held, generate=True))
    run(forge_new("print a file in capitals", config, engine=free, generate=True))
    assert held.params[0].constraint.lark == GRAMMAR
    assert free.params[0].constraint is None
