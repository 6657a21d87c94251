"""`toolsmith runs [show|apply]` and `toolsmith undo`: previewed runs, their plans,
applying them and taking them back."""

import click
import msgspec

from .output import console, emit_event, emit_json, json_errors, json_option



def _api():
    from toolsmith.sandbox import runs as api  # the sandbox loads only when a command needs it

    for line in api.recover():
        click.echo(line, err=True)
    return api


@click.group(invoke_without_command=True)
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, help="How many runs to list.")
@json_option
@click.pass_context
def runs(ctx: click.Context, limit: int, as_json: bool) -> None:
    """List recent sandboxed runs, newest first, with their state."""
    if ctx.invoked_subcommand is not None:
        return
    listed = _api().list_runs(limit)
    if as_json:
        emit_json(_escaped(msgspec.to_builtins(listed)))
        return
    if not listed:
        click.echo("no runs yet")
        return
    for r in listed:
        command = shown(" ".join(r.command)).replace("\n", " ")
        click.echo(f"{r.run_id}  {r.state:<9}  {r.changes:<32}  {command[:80] + ('...' if len(command) > 80 else '')}")


@runs.command()
@click.argument("run_id")
@click.option("--diff/--no-diff", default=True, show_default=True, help="Show text diffs.")
@json_option
def show(run_id: str, diff: bool, as_json: bool) -> None:
    """Show one run: state, exit code, resource use and the plan of file changes."""
    result = _api().get(run_id)
    if as_json:
        emit_json(_jsonable(result))
        return
    print_result(result, diff)


@runs.command()
@click.argument("run_id")
@json_option
def apply(run_id: str, as_json: bool) -> None:
    """Apply a previewed run's changes to the real files."""
    with json_errors(as_json):
        result = _api().apply(run_id)
    if as_json:
        emit_event({"type": "applied", "run_id": result.run_id, "state": result.state, "changes": result.plan.counts()})
    else:
        click.echo(f"applied run {result.run_id} ({result.plan.summary()}); undo with `toolsmith undo {result.run_id}`")


@runs.command()
@click.option("--older-than", "days", type=click.FloatRange(min=0), default=None,
              help="Remove runs made more than DAYS days ago (default: [sandbox] keep_runs_days).")
@json_option
def prune(days: float | None, as_json: bool) -> None:
    """Remove old runs and their files; applied runs are kept, since undo needs them."""
    from toolsmith.core import config as config_module

    if days is None:
        days = config_module.load().sandbox.keep_runs_days
    removed, kept = _api().prune(days)
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
        result = _api().undo(run_id, force=force)
    if as_json:
        emit_event({"type": "undone", "run_id": result.run_id, "state": result.state})
    else:
        click.echo(f"undid run {result.run_id} ({result.plan.summary()})")


def print_result(result, diff: bool = True) -> None:
    out = console()
    out.print(f"run {result.run_id}: {result.state}, exit code {result.exit_code}" + (" (timed out)" if result.timed_out else ""), markup=False)
    if result.usage:
        out.print(f"  {result.usage['wall_seconds']:.2f} s wall, {result.usage['cpu_seconds']:.2f} s CPU, {int(result.usage['max_rss_kb']) // 1024} MiB peak memory", markup=False)
    if result.note:
        out.print(f"  {result.note}", markup=False)
    if result.plan is None:
        return
    out.print(f"plan: {result.plan.summary()}", markup=False)
    for c in result.plan.changes:
        out.print(f"  {c.kind:<9} {_where(c)}{_details(c)}", markup=False)
        if diff and c.diff:
            out.print(shown(c.diff.rstrip("\n")), markup=False, style="dim")


def shown(name: str) -> str:
    """A file name as text: bytes that are not UTF-8 (kept as surrogates) shown as \\xNN."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _escaped(data):
    if isinstance(data, str):
        return shown(data)
    if isinstance(data, dict):
        return {shown(k): _escaped(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_escaped(v) for v in data]
    return data


def _where(c) -> str:
    path = shown(f"{c.old_path} -> {c.path}" if c.kind == "renamed" else c.path)
    path += "/" if c.type == "dir" else ""
    if c.type == "symlink":
        path += shown(f" -> {c.link_after or c.link_before}" if c.kind != "modified" else f" ({c.link_before} -> {c.link_after})")
    return path


def _details(c) -> str:
    if c.mode_before is not None and c.mode_after is not None and c.mode_before != c.mode_after:
        mode = f" (mode {c.mode_before:o} -> {c.mode_after:o})"
    else:
        mode = ""
    if c.type != "file":
        return mode
    if c.kind == "modified":
        return f" ({c.size_before:,} -> {c.size_after:,} bytes)" + mode
    size = c.size_after if c.size_after is not None else c.size_before
    return f" ({size:,} bytes)" + mode


def _jsonable(result) -> dict:
    """The result with its output as text (undecodable bytes replaced)."""
    data = _escaped(msgspec.to_builtins(result))
    data["stdout"] = result.stdout.decode("utf-8", "replace")
    data["stderr"] = result.stderr.decode("utf-8", "replace")
    return data
