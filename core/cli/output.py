"""Printing: rich on a terminal, plain text when piped, JSON on request."""

import sys

import click
import msgspec
from rich.console import Console


def console() -> Console:
    """A console that styles only when stdout is a terminal."""
    return Console(highlight=False, soft_wrap=True)


def emit_json(data) -> None:
    click.echo(msgspec.json.format(msgspec.json.encode(data), indent=2).decode())


def is_terminal() -> bool:
    return sys.stdout.isatty()


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
