"""Tool library commands: list, show, history, diff, restore, rm, trash, import."""

import ast
import difflib
from pathlib import Path

import click
import msgspec
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from ...base import config as config_module
from ...base import manifest as manifest_module
from ...base.errors import ToolsmithError
from ...base.manifest import Manifest, check_name
from ...base.terminal import safe
from ...tools.checks import check_source, read_source
from ...tools.languages import language_for_file
from ...tools.library import Library, Tool
from .output import console, emit_json, json_option


def _summary(tool: Tool) -> dict:
    m = tool.manifest
    return {
        "name": m.name,
        "description": m.description,
        "origin": m.origin,
        "language": m.language,
        "updated": m.updated.isoformat(),
        "network": m.network,
        "path": str(tool.path),
    }


@click.command("list")
@json_option
def list_tools(as_json: bool) -> None:
    """List saved tools (a folder that is not a valid tool is reported on stderr and skipped)."""
    tools, problems = Library().scan()
    rows = [_summary(tool) for tool in tools]
    if as_json:
        emit_json({"tools": rows, "problems": [{"path": str(path), "error": why} for path, why in problems]})
        return
    for path, why in problems:
        click.echo(f"skipped {path}: {why}", err=True)
    if not rows:
        click.echo('no tools yet: try `toolsmith import SCRIPT` or `toolsmith new "what it should do"`')
        return
    table = Table("name", "description", "origin", "network", "updated")
    for row in rows:  # a description may come from a model: plain text, escaped
        table.add_row(row["name"], Text(safe(row["description"])), row["origin"], "asks" if row["network"] else "no",
                      row["updated"][:16].replace("T", " "))
    console().print(table)


@click.command()
@click.argument("name")
@json_option
def show(name: str, as_json: bool) -> None:
    """Show a tool's manifest and source."""
    tool = Library().load(name)
    if as_json:
        emit_json({"manifest": msgspec.to_builtins(tool.manifest), "source": tool.source, "path": str(tool.path)})
        return
    out = console()
    if tool.manifest.network:
        out.print("network: this tool asks for network access; every run asks you first (or needs --allow-network)", markup=False)
    out.print(safe(manifest_module.encode(tool.manifest).decode(), lines=True), markup=False)
    lexer = "python" if tool.source_path.suffix == ".py" else "bash"
    source = safe(tool.source, lines=True)
    out.print(Syntax(source, lexer, line_numbers=True) if out.is_terminal else source, markup=False)


@click.command()
@click.argument("name")
@json_option
def history(name: str, as_json: bool) -> None:
    """List every saved version of a tool."""
    versions = Library().history(name)
    if as_json:
        emit_json([msgspec.to_builtins(v) for v in versions])
        return
    table = Table("version", "saved", "origin", "description")
    for v in versions:
        table.add_row(str(v.number), v.saved.isoformat()[:16].replace("T", " "), v.origin, v.description)
    console().print(table)


@click.command()
@click.argument("name")
@click.argument("v1", type=int, required=False)
@click.argument("v2", type=int, required=False)
@json_option
def diff(name: str, v1: int | None, v2: int | None, as_json: bool) -> None:
    """Show what changed between two versions (default: previous and current)."""
    library = Library()
    numbers = [v.number for v in library.history(name)]
    v1 = v1 if v1 is not None else numbers[max(len(numbers) - 2, 0)]
    v2 = numbers[-1] if v2 is None else v2
    text = _unified(library.version(name, v1), library.version(name, v2), v1, v2)
    if as_json:
        emit_json({"name": name, "from": v1, "to": v2, "diff": text})
        return
    out = console()
    if not text:
        click.echo(f"versions {v1} and {v2} are identical")
    elif out.is_terminal:
        out.print(Syntax(text, "diff"))
    else:
        click.echo(text, nl=False)


def _unified(a: Tool, b: Tool, v1: int, v2: int) -> str:
    parts = []
    for label, old, new in (
        ("tool.toml", manifest_module.encode(a.manifest).decode(), manifest_module.encode(b.manifest).decode()),
        ("source", a.source, b.source),
    ):
        parts += difflib.unified_diff(
            old.splitlines(keepends=True), new.splitlines(keepends=True), f"{label}@{v1}", f"{label}@{v2}"
        )
    return "".join(line if line.endswith("\n") else line + "\n" for line in parts)


@click.command()
@click.argument("name")
@click.argument("version", type=int)
def restore(name: str, version: int) -> None:
    """Make an earlier version current again (saved as a new version)."""
    number = Library().restore(name, version)
    click.echo(f"restored {name} version {version} as version {number}")


@click.command()
@click.argument("name")
def rm(name: str) -> None:
    """Move a tool to the trash (restore it with `toolsmith trash restore NAME`)."""
    entry = Library().remove(name)
    click.echo(f"moved {name} to the trash as {entry.id}")


@click.group()
def trash() -> None:
    """Tools removed with `toolsmith rm`."""


@trash.command("list")
@json_option
def trash_list(as_json: bool) -> None:
    """List trashed tools."""
    entries = Library().trash()
    if as_json:
        emit_json([msgspec.to_builtins(e) for e in entries])
        return
    for e in entries:
        click.echo(f"{e.id}\t{e.name}\tremoved {e.removed.isoformat()}")


@trash.command("restore")
@click.argument("name_or_id")
def trash_restore(name_or_id: str) -> None:
    """Put a trashed tool back."""
    name = Library().untrash(name_or_id)
    click.echo(f"restored {name} from the trash")


@click.command("import")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--name", help="Tool name (default: the file name).")
@click.option("--description", help="What the tool does (default: the script's docstring or argparse description).")
@click.option("--requires", "requires", multiple=True, metavar="MODULE",
              help="A module the script imports beyond the standard library (repeatable, or comma-separated).")
@json_option
def import_tool(path: Path, name: str | None, description: str | None, requires: tuple[str, ...], as_json: bool) -> None:
    """Adopt a hand-written script as a tool, inferring its parameters."""
    settings = config_module.load().checks
    language = language_for_file(path)
    source = read_source(path, settings.max_source_bytes)
    name = check_name(name or path.stem.lower().replace(" ", "-").replace(".", "-"))
    now = manifest_module.now()
    manifest = Manifest(
        name=name,
        description=description or _describe(source) or f"imported from {path.name}",
        language=language.name,
        parameters=language.infer_parameters(source),
        requires=list(dict.fromkeys(m.strip() for item in requires for m in item.split(",") if m.strip())),
        origin="hand",
        created=now,
        updated=now,
    )
    problems = [d for d in check_source(source, manifest, language.name, settings) if d.severity == "error"]
    if problems:
        for d in problems:
            click.echo(f"{path}:{d.render()}", err=True)
        hint = "; a module beyond the standard library can be declared with --requires MODULE" if any(
            d.rule == "forbidden-import" and "standard library" in d.message for d in problems) else ""
        raise ToolsmithError(f"{path} did not pass the checks ({len(problems)} errors above); fix them and import again{hint}")
    number = Library().save(manifest, source, new=True)
    if as_json:
        emit_json({"name": name, "version": number, "manifest": msgspec.to_builtins(manifest)})
    else:
        params = ", ".join(p.name for p in manifest.parameters) or "none"
        click.echo(f"imported {path} as {name} (parameters: {params})")


def _describe(source: str) -> str:
    """The first line of a Python module docstring, if there is one."""
    try:
        doc = ast.get_docstring(ast.parse(source))
    except SyntaxError:
        return ""
    return doc.strip().splitlines()[0] if doc else ""
