"""`toolsmith new`, `toolsmith edit`: make and change tools, showing every stage."""

import sys

import click

from .. import config as config_module
from ..forge import events as ev
from ..forge.pipeline import forge_edit, forge_new
from ..models import open_engine
from .output import console, json_option


def register(cli: click.Group) -> None:
    cli.add_command(new)
    cli.add_command(edit)


@click.command()
@click.argument("description")
@click.option("--name", help="Save the tool under this name.")
@json_option
def new(description: str, name: str | None, as_json: bool) -> None:
    """Make a tool from a plain-words DESCRIPTION and save it."""
    config = config_module.load()
    engine = open_engine(config)
    ask = _ask_name if sys.stdin.isatty() and not as_json else None
    try:
        render(forge_new(description, config, engine=engine, name=name, choose_name=ask), as_json)
    finally:
        if engine is not None:
            engine.shutdown()


@click.command()
@click.argument("name")
@click.argument("change")
@json_option
def edit(name: str, change: str, as_json: bool) -> None:
    """Change tool NAME as described by CHANGE; the old version stays in its history."""
    config = config_module.load()
    engine = open_engine(config)
    try:
        render(forge_edit(name, change, config, engine=engine), as_json)
    finally:
        if engine is not None:
            engine.shutdown()


def _ask_name(taken: str) -> str | None:
    return click.prompt(f"a tool named {taken!r} exists; save under which name? (empty to cancel)", default="", show_default=False) or None


def render(stream, as_json: bool) -> None:
    """Print each event as it happens; exit 1 when the last one is an error."""
    last = None
    for event in stream:
        last = event
        if as_json:
            click.echo(ev.encode(event).decode())
        else:
            _print(event)
    if isinstance(last, ev.Error):
        sys.exit(1)


def _print(event) -> None:
    out = console()
    match event:
        case ev.Token(text=text):
            click.echo(text, nl=False)
        case ev.RecipesFound(matches=matches) if matches:
            out.print("nearest recipes: " + ", ".join(f"{m.name} ({m.score:.2f})" for m in matches), style="dim")
        case ev.UsingRecipe(name=name, score=score, reason=reason):
            out.print(f"{reason}: using the built-in recipe {name} (match {score:.2f})")
        case ev.Attempt(number=number, of=of):
            out.print(f"\n[bold]attempt {number} of {of}[/bold]")
        case ev.Checked(diagnostics=diagnostics):
            click.echo()
            for d in diagnostics:
                out.print(d.render(), markup=False, style="red" if d.severity == "error" else "yellow")
            if not [d for d in diagnostics if d.severity == "error"]:
                out.print("checks passed", style="green")
        case ev.SmokeRun(ok=ok, command=command, output=output):
            out.print(f"smoke run `{' '.join(command)}`: " + ("ok" if ok else f"failed\n{output}"), markup=False)
        case ev.Diff(text=text):
            click.echo(text)
        case ev.Saved(name=name, version=version, origin=origin):
            out.print(f"saved {name} (version {version}, from {origin}); run it with `toolsmith run {name} ...`", markup=False)
        case ev.Error(message=message):
            click.echo(f"error: {message}", err=True)
