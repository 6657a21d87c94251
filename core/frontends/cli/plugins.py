"""`toolsmith plugins`: what is loaded and which hooks each plugin implements."""

import click

from ...base.plugin_host import describe_plugins
from .output import console, emit_json, json_option


@click.command()
@json_option
def plugins(as_json: bool) -> None:
    """List loaded plugins (built-in, installed and single-file) and their hooks."""
    rows = describe_plugins()
    if as_json:
        emit_json(rows)
        return
    out = console()
    for row in rows:
        version = f" {row['version']}" if "version" in row else ""
        out.print(f"[bold]{row['name']}[/bold]{version}: {', '.join(row['hooks']) or '(no hooks)'}")
        for engine in row.get("engines", []):
            state = "available" if engine["available"] else f"unavailable: {engine['reason']}"
            out.print(f"  engine {engine['name']}: {state}", markup=False)
