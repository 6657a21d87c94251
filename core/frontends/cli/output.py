"""Printing: rich on a terminal, plain text when piped, JSON on request."""

import sys
from contextlib import contextmanager

import click
import msgspec
from rich.console import Console

from ..errors import USER_ERRORS


def console() -> Console:
    """A console that styles only when stdout is a terminal."""
    return Console(highlight=False, soft_wrap=True)


def emit_json(data) -> None:
    click.echo(msgspec.json.format(msgspec.json.encode(data), indent=2).decode())


def is_terminal() -> bool:
    return sys.stdout.isatty()


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")


@contextmanager
def json_errors(as_json: bool):
    """With --json, a failure is a last line `{"type": "error", "message": ...}` and exit 1."""
    try:
        yield
    except USER_ERRORS as e:
        if not as_json:
            raise
        emit_event({"type": "error", "message": str(e)})
        sys.exit(1)


def emit_event(event) -> None:
    """One JSON line (the --json form of new, edit, run and undo)."""
    click.echo(msgspec.json.encode(event).decode())
