"""`toolsmith runs [show|apply]` and `toolsmith undo`: previewed runs, their plans,
applying them and taking them back."""

import click
import msgspec

from ...base.terminal import safe
from .output import console, emit_event, emit_json, json_errors, json_option


def _service():
    from ...tools import run_service  # the sandbox loads only when a command needs it

    for line in run_service.recover():
        click.echo(safe(line), err=True)
    return run_service


@click.group(invoke_without_command=True)
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, help="How many runs to list.")
@json_option
@click.pass_context
def runs(ctx: click.Context, limit: int, as_json: bool) -> None:
    """List recent sandboxed runs, newest first, with their state."""
    if ctx.invoked_subcommand is not None:
        return
    listed = _service().list_runs(limit)
    if as_json:
        emit_json(msgspec.to_builtins(listed))
        return
    if not listed:
        click.echo("no runs yet")
        return
    for r in listed:
        command = safe(" ".join(r.command))
        click.echo(f"{safe(r.run_id)}  {r.state:<9}  {r.changes:<32}  {command[:80] + ('...' if len(command) > 80 else '')}")


@runs.command()
@click.argument("run_id")
@click.option("--diff/--no-diff", default=True, show_default=True, help="Show text diffs.")
@click.option("--full", is_flag=True, help="Show every change and every diff line (a long plan is summarised).")
@json_option
def show(run_id: str, diff: bool, full: bool, as_json: bool) -> None:
    """Show one run: state, exit code, resource use and the plan of file changes."""
    result = _service().get(run_id)
    if as_json:
        emit_json(msgspec.to_builtins(result))
        return
    print_result(result, diff, full=full)


@runs.command()
@click.argument("run_id")
@json_option
def apply(run_id: str, as_json: bool) -> None:
    """Apply a previewed run's changes to the real files."""
    with json_errors(as_json):
        result = _service().apply(run_id)
    if as_json:
        emit_event({"type": "applied", "run_id": result.run_id, "state": result.state, "changes": result.counts})
    else:
        click.echo(f"applied run {safe(result.run_id)} ({result.summary}); undo with `toolsmith undo {safe(result.run_id)}`")


@runs.command()
@click.option("--older-than", "days", type=click.FloatRange(min=0), default=None,
              help="Remove runs made more than DAYS days ago (default: [sandbox] keep_runs_days).")
@json_option
def prune(days: float | None, as_json: bool) -> None:
    """Remove old runs and their files; applied runs are kept, since undo needs them."""
    from toolsmith.core.base import config as config_module

    if days is None:
        days = config_module.load().sandbox.keep_runs_days
    removed, kept = _service().prune(days)
    if as_json:
        emit_json({"removed": removed, "kept_for_undo": kept})
        return
    click.echo(f"removed {len(removed)} run(s) older than {days:g} days" + (f"; kept {len(kept)} applied run(s) that undo still needs" if kept else ""))


@click.command()
@click.argument("run_id", required=False)
@click.option("--force", is_flag=True, help="Undo even if the files changed since the apply (their newer versions are kept in the run's trash).")
@json_option
def undo(run_id: str | None, force: bool, as_json: bool) -> None:
    """Restore the files as they were before RUN_ID was applied (default: the latest applied run)."""
    with json_errors(as_json):
        result = _service().undo(run_id, force=force)
    if as_json:
        emit_event({"type": "undone", "run_id": result.run_id, "state": result.state})
    else:
        click.echo(f"undid run {safe(result.run_id)} ({result.summary})")


STYLES = {"head": None, "note": None, "change": None, "diff": "dim"}


def print_result(result, diff: bool = True, access: bool = True, full: bool = False) -> None:
    from ...tools.run_report import report

    print_lines(report(result, diff, access, full))


def print_lines(lines) -> None:
    """(kind, line) pairs from run_report, already escaped for the terminal."""
    out = console()
    for kind, line in lines:
        out.print(line, markup=False, style=STYLES[kind])
