"""`toolsmith new`, `toolsmith edit`: make and change tools, showing every stage."""

import shlex
import sys

import click

from ...base import config as config_module
from ...base import progress
from ...base.terminal import safe
from ...forge import events as ev
from ...forge.pipeline import forge_edit, forge_new
from ...tools.model_registry import open_engine
from .output import console, emit_event, json_errors, json_option, progress_bar


@click.command()
@click.argument("description")
@click.option("--name", help="Save the tool under this name (also: save a copy of a recipe you already have).")
@click.option("--recipe", "recipe", metavar="RECIPE", help="Use this built-in recipe (see `toolsmith recipes list`).")
@click.option("--generate", is_flag=True, help="Ask the model even when a vetted recipe fits.")
@json_option
def new(description: str, name: str | None, recipe: str | None, generate: bool, as_json: bool) -> None:
    """Make a tool from a plain-words DESCRIPTION and save it.

    A vetted recipe is used when one surely fits; otherwise the model writes one. Without
    a model and without a sure recipe, a terminal offers the three likeliest recipes.
    """
    with json_errors(as_json):
        if recipe is not None and generate:
            raise click.UsageError("--recipe and --generate contradict each other; pass one")
        config = config_module.load()
        engine = _open_engine(config, as_json) if recipe is None else None
        interactive = sys.stdin.isatty() and not as_json
        try:
            stream = forge_new(
                description, config, engine=engine, name=name, recipe=recipe, generate=generate,
                choose_name=_ask_name if interactive else None, choose_recipe=_ask_recipe if interactive else None,
            )
            render(stream, as_json)
        finally:
            if engine is not None:
                engine.shutdown()


@click.command()
@click.argument("name")
@click.argument("change")
@json_option
def edit(name: str, change: str, as_json: bool) -> None:
    """Change tool NAME as described by CHANGE; the old version stays in its history."""
    with json_errors(as_json):
        config = config_module.load()
        engine = _open_engine(config, as_json)
        try:
            render(forge_edit(name, change, config, engine=engine), as_json)
        finally:
            if engine is not None:
                engine.shutdown()


def _open_engine(config, as_json: bool):
    """The configured engine, with a bar while its weights load (on a terminal)."""
    with progress_bar("loading the model", shown=not as_json) as bar, progress.listening(bar):
        return open_engine(config)


def _ask_name(taken: str) -> str | None:
    return click.prompt(f"a tool named {taken!r} exists; save under which name? (empty to cancel)", default="", show_default=False) or None


def _ask_recipe(matches: list[ev.RecipeMatch]) -> str | None:
    out = console()
    out.print("no recipe fits for sure; the likeliest are:")
    for number, match in enumerate(matches, 1):
        out.print(f"  {number}. {match.name} ({match.score:.2f}): {match.description}", markup=False)
    choice = click.prompt("use which? (number, empty to cancel)", default="", show_default=False).strip()
    if choice.isdigit() and 1 <= int(choice) <= len(matches):
        return matches[int(choice) - 1].name
    if choice:
        click.echo(f"not one of 1-{len(matches)}; nothing was saved", err=True)
    return None


def render(stream, as_json: bool) -> None:
    """Print each event as it happens; exit 1 when the last one is an error."""
    last = None
    for event in stream:
        last = event
        if as_json:
            emit_event(event)
        else:
            _print(event)
    if isinstance(last, ev.Error):
        sys.exit(1)


def _print(event) -> None:
    out = console()
    match event:
        case ev.Token(text=text):  # the model's words: untrusted, escaped like a tool's output
            click.echo(safe(text, lines=True), nl=False)
        case ev.RecipesFound(matches=matches) if matches:
            out.print("nearest recipes: " + ", ".join(f"{m.name} ({m.score:.2f})" for m in matches), style="dim")
        case ev.UsingRecipe(name=name, score=score, reason=reason):
            out.print(f"{reason}: using the built-in recipe {name} (match {score:.2f})", markup=False)
        case ev.ParametersFilled(values=values):
            shown = (f"--{k}" if v is True else f"--{k} {shlex.quote(str(v))}" for k, v in values.items())
            out.print("from your words: " + ", ".join(shown), markup=False)
        case ev.AlreadyHave(name=name, command=command):
            out.print(f"you already have this tool: {name}; run it with `{command}` (pass --name to save a copy)", markup=False)
        case ev.Attempt(number=number, of=of):
            out.print(f"\n[bold]attempt {number} of {of}[/bold]")
        case ev.Checked(diagnostics=diagnostics):
            click.echo()
            for d in diagnostics:
                out.print(safe(d.render(), lines=True), markup=False, style="red" if d.severity == "error" else "yellow")
            if not [d for d in diagnostics if d.severity == "error"]:
                out.print("checks passed", style="green")
        case ev.SmokeRun(ok=ok, command=command, output=output):
            out.print(safe(f"smoke run `{' '.join(command)}`: ") + ("ok" if ok else "failed\n" + safe(output, lines=True)), markup=False)
        case ev.Diff(text=text):
            click.echo(safe(text, lines=True))
        case ev.Saved(name=name, version=version, origin=origin):
            out.print(f"saved {name} (version {version}, from {origin}); run it with `toolsmith run {name} ...`", markup=False)
        case ev.Error(message=message):
            click.echo(f"error: {safe(message)}", err=True)
