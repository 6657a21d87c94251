"""`toolsmith run`: run a saved tool in the sandbox, preview its changes, confirm, apply."""

import os
import sys
from pathlib import Path

import click

from ...base import config as config_module
from ...base.terminal import safe
from ...forge import events as ev
from ...tools.invocation import option, parser_for
from ...tools.library import Library
from .output import emit_event, json_errors, json_option
from .runs import print_lines, print_result


@click.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option("--yes", "-y", is_flag=True, help="Apply the previewed changes without asking.")
@click.option("--preview", is_flag=True, help="Only show what would change; apply later with `toolsmith runs apply RUN_ID`.")
@click.option("--allow-degraded", is_flag=True, help="Run even when a sandbox layer is missing on this machine.")
@click.option("--allow-network", is_flag=True, help="Give a tool that asks for network access that access without asking (needed without a terminal).")
@click.option("--full", is_flag=True, help="Show every change and every diff line (a long preview is summarised).")
@json_option
@click.argument("name")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def run(name: str, args: tuple[str, ...], yes: bool, preview: bool, allow_degraded: bool, allow_network: bool, full: bool,
        as_json: bool) -> None:
    """Run tool NAME on ARGS in the sandbox: preview the changes, confirm, apply.

    Before the tool starts, every path it can read or write and whether it has network
    access are shown; network access and paths from the manifest's defaults are asked
    for. The tool's output is shown as it runs (escaped; on a terminal with the seconds
    since it started). `toolsmith run NAME --help` shows the tool's own arguments.
    Toolsmith's own options may also come after NAME, unless the tool has an option of
    the same name.
    """
    if name.startswith("-"):
        raise click.UsageError(f"no such option: {name} (run's options are --yes, --preview, --allow-degraded, --allow-network, --full and --json)")
    args = list(args)
    own = [a for a in args if a in OWN_OPTIONS]
    with json_errors(as_json or "--json" in own):
        if own:
            declared = {option(p) for p in Library().load(name).manifest.parameters}
            for flag in (a for a in own if a not in declared):
                args.remove(flag)
                yes, preview = yes or flag in ("--yes", "-y"), preview or flag == "--preview"
                allow_degraded, as_json = allow_degraded or flag == "--allow-degraded", as_json or flag == "--json"
                allow_network, full = allow_network or flag == "--allow-network", full or flag == "--full"
        _run(name, args, yes, preview, allow_degraded, allow_network, full, as_json)


OWN_OPTIONS = ("--yes", "-y", "--preview", "--allow-degraded", "--allow-network", "--full", "--json")


def _run(name: str, args: list[str], yes: bool, preview: bool, allow_degraded: bool, allow_network: bool, full: bool,
         as_json: bool) -> None:
    from ...tools import run_service
    from ...tools.run_report import LiveOutput, access_lines

    tool = Library().load(name)
    if "--help" in args or "-h" in args:
        click.echo(parser_for(tool).format_help(), nl=False)
        return
    if os.geteuid() == 0 and not as_json and any(p.access == "write" for p in tool.manifest.parameters):
        click.echo("note: started as root, the tool runs as the unprivileged user 'nobody' on a private copy of folders holding others' files; applying keeps every file's owner", err=True)

    def ask(access, questions: list[str]) -> bool:
        """Show what the tool can touch; ask for what needs a yes, on a terminal only."""
        if not as_json:
            print_lines(access_lines(access.grants, access.network))
        if not questions:
            return True
        if as_json or not sys.stdin.isatty():
            _fail(as_json, f"{name}: not run: {'; '.join(questions)} ({access.how(allow_network)}, or run it on a terminal to be asked)")
        for question in questions:
            click.echo(f"{name}: {safe(question)}")
        return click.confirm("run it with that access?", default=False)

    live = None if as_json else LiveOutput(_show_line)
    try:
        result = run_service.preview(tool, args, Path.cwd(), config_module.load().sandbox, allow_degraded,
                                     allow_network=allow_network, ask=ask, on_output=live.feed if live else None)
    finally:
        if live:
            live.close()
    if as_json:
        emit_event(ev.Planned(run_id=result.run_id, changes=len(result.changes), summary=result.summary))
    else:
        print_result(result, access=False, full=full)
    if failure := result.failure(name):
        _fail(as_json, safe(failure))
    if not result.changes or preview:
        return
    if not yes:
        if as_json or not sys.stdin.isatty():
            _fail(as_json, f"not applied: pass --yes to apply, or `toolsmith runs apply {result.run_id}`")
        if not click.confirm("apply these changes?", default=False):
            click.echo(f"not applied; apply later with `toolsmith runs apply {result.run_id}`")
            return
    run_service.apply(result.run_id)
    if as_json:
        emit_event(ev.Applied(run_id=result.run_id))
    else:
        click.echo(f"applied run {result.run_id}; undo with `toolsmith undo {result.run_id}`")


def _show_line(stream: str, line: str, seconds: float) -> None:
    """One line of the tool's output (already escaped); on a terminal, after the time it came."""
    from ...tools.run_report import elapsed

    err = stream == "stderr"
    terminal = (sys.stderr if err else sys.stdout).isatty()
    click.echo(f"{click.style(elapsed(seconds), dim=True)} {line}" if terminal else line, err=err)


def _fail(as_json: bool, message: str) -> None:
    if as_json:
        emit_event(ev.Error(message=message))
    else:
        click.echo(f"error: {message}", err=True)
    sys.exit(1)
