"""Printing: rich on a terminal, plain text when piped, JSON on request."""

import functools
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


def json_option(command):
    """The --json flag; with it, the command's errors are JSON too (see json_errors)."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        with json_errors(kwargs.get("as_json", False)):
            return command(*args, **kwargs)

    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")(wrapper)


@contextmanager
def json_errors(as_json: bool):
    """With --json, a failure is a last line `{"type": "error", "message": ...}` on stdout.

    The exit code stays what it would be without --json: 2 for a usage error, else 1.
    """
    try:
        yield
    except click.ClickException as e:
        if not as_json:
            raise
        emit_event({"type": "error", "message": e.format_message()})
        sys.exit(e.exit_code)
    except USER_ERRORS as e:
        if not as_json:
            raise
        emit_event({"type": "error", "message": str(e)})
        sys.exit(1)
    except Exception as e:
        context = click.get_current_context(silent=True)
        if not as_json or (context and (context.find_root().obj or {}).get("debug")):
            raise
        emit_event({"type": "error", "message": f"{type(e).__name__}: {e}"})
        sys.exit(1)


@contextmanager
def progress_bar(description: str, shown: bool = True):
    """A rich progress bar on stderr, fed by the `(done, total)` callback this yields.

    Drawn from the first report on (a step that reports nothing shows nothing), and
    only on a terminal and when `shown` (not under --json): piped output stays the same.
    """
    if not (shown and sys.stderr.isatty()):
        yield lambda done, total: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   console=Console(stderr=True), transient=True)
    task = None

    def update(done: int, total: int) -> None:
        nonlocal task
        if task is None:
            bar.start()
            task = bar.add_task(description, total=total)
        bar.update(task, completed=done, total=total)

    try:
        yield update
    finally:
        if task is not None:
            bar.stop()


def emit_event(event) -> None:
    """One JSON line (the --json form of new, edit, run and undo)."""
    click.echo(msgspec.json.encode(event).decode())
