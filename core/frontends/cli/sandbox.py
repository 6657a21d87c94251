"""`toolsmith sandbox check|exec`: inspect the isolation layers; run any command inside them."""

import dataclasses
import sys

import click

from ...base import config as config_module
from .output import console, emit_json, json_option


@click.group()
def sandbox() -> None:
    """Check the sandbox's isolation layers; run commands inside it."""


@sandbox.command()
@json_option
def check(as_json: bool) -> None:
    """Report every isolation layer: active, or missing with the reason and what that exposes.

    Exits 1 when a required layer is missing (runs would be refused without --allow-degraded).
    """
    from toolsmith.sandbox.launcher import check_layers

    statuses = check_layers()
    if as_json:
        emit_json([dataclasses.asdict(s) for s in statuses])
    else:
        out = console()
        for s in statuses:
            mark = "[green]active[/]" if s.active else ("[red]MISSING[/]" if s.required else "[yellow]missing[/]")
            out.print(f"{s.name:<17} {mark}  {s.detail}")
            if not s.active:
                out.print(f"{'':<17} exposes: {s.exposes}", markup=False)
    if any(s.required and not s.active for s in statuses):
        sys.exit(1)


@sandbox.command(
    "exec",
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
)
@click.option("--read", "reads", multiple=True, metavar="PATH", help="Readable (and executable) path; repeatable.")
@click.option("--write", "writes", multiple=True, metavar="PATH", help="Readable and writable path; repeatable.")
@click.option("--net", is_flag=True, help="Allow network access (off by default).")
@click.option(
    "--timeout", type=click.FloatRange(min=0, min_open=True), help="Wall-clock seconds before every process is killed."
)
@click.option("--memory", type=click.IntRange(min=16), metavar="MB", help="Address-space limit per process.")
@click.option("--allow-degraded", is_flag=True, help="Run even when a required isolation layer is missing.")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def exec_(reads, writes, net, timeout, memory, allow_degraded, command) -> None:
    """Run COMMAND under a sandbox policy; its stdout, stderr and exit code pass through.

    A timeout ends with exit code 124, a resource limit with 137; each adds one line on stderr.
    """
    from toolsmith.sandbox.launcher import execute
    from toolsmith.sandbox.policy import Policy

    settings = config_module.load().sandbox
    policy = Policy(
        read_paths=list(reads),
        write_paths=list(writes),
        network=net,
        timeout=timeout or settings.timeout,
        memory_mb=memory or settings.memory_mb,
        allow_degraded=allow_degraded or settings.allow_degraded,
    )
    result = execute(list(command), policy, capture=False)
    if result.timed_out:
        click.echo(f"toolsmith: timed out after {policy.timeout:g} s; every process of the run was killed", err=True)
    elif result.killed:
        click.echo("toolsmith: killed by a resource limit (memory, CPU time, file size or SIGKILL)", err=True)
    sys.stdout.flush()
    sys.exit(result.exit_code)  # not click.exceptions.Exit: the CLI maps that to 0
