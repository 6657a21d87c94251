"""`toolsmith recipes list | search QUERY | show NAME`: browse the catalog of vetted tools."""

import difflib

import click
import msgspec
from rich.syntax import Syntax
from rich.table import Table

from ...base import manifest as manifest_module
from ...base.errors import ToolsmithError
from ...tools.recipes import Recipe
from ...tools.recipes import recipes as catalog
from ...tools.retrieval import decide
from ...tools.retrieval import search as search_recipes
from .output import console, emit_json, json_option


class UnknownRecipe(ToolsmithError):
    """No recipe has the name the user gave."""


class EmptyQuery(ToolsmithError):
    """A search without any words to search for."""



@click.group("recipes")
def recipes_group() -> None:
    """Browse the built-in recipes (vetted tools used when no model is installed)."""


@recipes_group.command("list")
@json_option
def list_recipes(as_json: bool) -> None:
    """List every recipe with its description and parameters."""
    rows = [_summary(recipe) for recipe in sorted(catalog().values(), key=lambda r: r.name)]
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo("no recipes: the built-in `recipes` plugin is not loaded (see `toolsmith plugins`)")
        return
    table = Table("name", "description", "parameters")
    for row in rows:
        table.add_row(row["name"], row["description"], " ".join(_usage(p) for p in row["parameters"]))
    console().print(table)


@recipes_group.command("search")
@click.argument("query", nargs=-1, required=True)
@click.option("--limit", type=click.IntRange(min=1), default=5, show_default=True, help="Show at most this many recipes.")
@json_option
def search(query: tuple[str, ...], limit: int, as_json: bool) -> None:
    """Find the recipes that fit QUERY, a task described in plain words."""
    text = " ".join(query).strip()
    if not text:
        raise EmptyQuery('the search is empty: describe the task, e.g. toolsmith recipes search "rename photos by date"')
    found = search_recipes(text, limit)
    table_of = catalog()
    rows = [{"name": m.recipe_name, "score": m.score, "description": table_of[m.recipe_name].manifest.description} for m in found]
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo(f"no recipe matches {text!r}; try other words, or see `toolsmith recipes list`")
        return
    table = Table("name", "match", "description")
    for row in rows:
        table.add_row(row["name"], f"{row['score']:.2f}", row["description"])
    console().print(table)
    decision = decide(text)
    if decision.verdict != "sure":
        click.echo(f"(`toolsmith new` would not pick one by itself: {decision.reason})")


@recipes_group.command("show")
@click.argument("name")
@json_option
def show(name: str, as_json: bool) -> None:
    """Show a recipe's manifest, phrasings and source."""
    recipe = _get(name)
    if as_json:
        emit_json({"manifest": msgspec.to_builtins(recipe.manifest), "phrasings": recipe.phrasings, "source": recipe.source})
        return
    out = console()
    out.print(manifest_module.encode(recipe.manifest).decode(), markup=False)
    out.print("phrasings:\n" + "\n".join(f"  {p}" for p in recipe.phrasings) + "\n", markup=False)
    out.print(Syntax(recipe.source, "python", line_numbers=True) if out.is_terminal else recipe.source, markup=False)


def _get(name: str) -> Recipe:
    table = catalog()
    if name in table:
        return table[name]
    close = difflib.get_close_matches(name, list(table), n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise UnknownRecipe(f"no recipe named {name!r}; {hint}see `toolsmith recipes list`")


def _summary(recipe: Recipe) -> dict:
    return {
        "name": recipe.name,
        "description": recipe.manifest.description,
        "parameters": [msgspec.to_builtins(p) for p in recipe.manifest.parameters],
    }


def _usage(parameter: dict) -> str:
    """How the parameter is written on a command line: FOLDER, --max-size N, [--dry-run]."""
    name = parameter["name"]
    if parameter.get("positional"):
        text = name.upper() + ("..." if parameter.get("multiple") else "")
    else:
        option = "--" + name.replace("_", "-")
        text = option if parameter["kind"] == "flag" else f"{option} {parameter['kind'].upper()}"
    return text if parameter.get("required") else f"[{text}]"
