"""`toolsmith watch`, `toolsmith dev`, `toolsmith lsp`: Toolsmith while you work on your tools."""

import asyncio
import signal
import sys

import click

from ...base import config as config_module
from ...base.errors import ToolsmithError
from ...base.terminal import safe
from ...tools.library import Library
from .output import console, json_option


@click.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option("--auto-apply", is_flag=True, default=None, help="Apply every run without asking (default: the trigger's auto_apply).")
@click.option("--pattern", "patterns", multiple=True, help="Only files matching this glob start a run, e.g. '*.jpg' (repeatable).")
@click.option("--debounce-ms", type=click.IntRange(10, 600_000), help="Quiet time after the last change before a run.")
@click.option("--allow-network", is_flag=True, help="Give a tool that asks for network access that access in every run.")
@json_option
@click.argument("name")
@click.argument("path", required=False)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def watch(name: str, path: str | None, args: tuple[str, ...], auto_apply: bool | None, patterns: tuple[str, ...], debounce_ms: int | None, allow_network: bool, as_json: bool) -> None:
    """Run tool NAME whenever files appear or change in the folder PATH.

    PATH is passed to the tool's folder parameter and ARGS after it. Without PATH,
    the tool's [trigger] section says what to watch. Each run is previewed in the
    sandbox; it is applied when you confirm it (or always, with --auto-apply).
    Ctrl-C stops.
    """
    from ..live.watch import Watcher, resolve_trigger

    tool = Library().load(name)
    trigger = resolve_trigger(tool, path, list(args), auto_apply=auto_apply, patterns=list(patterns) or None, debounce_ms=debounce_ms)
    interactive = sys.stdin.isatty() and not as_json
    watcher = Watcher(name, trigger, on_event=_printer(as_json), confirm=_ask if interactive else None, allow_network=allow_network)
    _run_until_interrupted(watcher.run)


@click.command()
@json_option
def dev(as_json: bool) -> None:
    """Reload plugin files and tools as you edit them, and run tools' [trigger]s, until Ctrl-C.

    A broken edit is reported and the last good version stays in use.
    """
    from ..live.reload import Reloader
    from ..live.watch import Watcher

    show = _printer(as_json)
    config = config_module.load()
    reloader = Reloader(show, settings=config.checks)
    reloader.load_all()
    watchers = [
        Watcher(name, tool.manifest.trigger, on_event=show, load_tool=reloader.tool, settings=config.sandbox)
        for name, tool in sorted(reloader.tools().items())
        if tool.manifest.trigger is not None and tool.manifest.trigger.path
    ]

    async def everything(stop: asyncio.Event) -> None:
        await asyncio.gather(reloader.run(stop), *(w.run(stop) for w in watchers))

    _run_until_interrupted(everything)


@click.command()
def lsp() -> None:
    """Start the language server on stdin/stdout (for your editor; see examples/editors/)."""
    try:
        from ..lsp import main
    except ImportError as e:
        raise ToolsmithError(f"the language server needs pygls: pip install 'toolsmith[lsp]' ({e})") from None
    main()


def _run_until_interrupted(job) -> None:
    """Run `job(stop)` until Ctrl-C or SIGTERM sets `stop`; a second Ctrl-C stops at once."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()

        def first_signal() -> None:
            stop.set()
            loop.remove_signal_handler(signal.SIGINT)

        loop.add_signal_handler(signal.SIGINT, first_signal)
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        await job(stop)

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass


def _ask(result) -> bool:
    from .runs import print_result

    print_result(result)
    return click.confirm("apply these changes?", default=False)


def _printer(as_json: bool):
    """Print watch and reload events as lines of text, or as JSON lines."""
    import msgspec

    from ..live import reload, watch

    def show(event) -> None:
        if as_json:
            click.echo(msgspec.json.encode(event).decode())
            return
        out = console()
        match event:
            case watch.Watching(tool=tool, folder=folder, patterns=patterns, auto_apply=auto):
                what = f" ({', '.join(map(safe, patterns))})" if patterns else ""
                how = "applies each run automatically" if auto else "previews each run for you to apply"
                out.print(f"watching {safe(folder)}{what} for {tool}; {how}", markup=False)
            case watch.Changed(files=files):  # names of files a tool (or anyone) made
                shown = ", ".join(map(safe, files[:5])) + (f" and {len(files) - 5} more" if len(files) > 5 else "")
                out.print(f"changed: {shown}", markup=False, style="dim")
            case watch.Previewed(run_id=run_id, summary=summary, stdout=stdout, stderr=stderr):
                sys.stdout.write(safe(stdout, lines=True))
                sys.stderr.write(safe(stderr, lines=True))
                out.print(f"run {run_id}: {summary}", markup=False)
            case watch.Applied(run_id=run_id):
                out.print(f"applied run {run_id}; undo with `toolsmith undo {run_id}`", markup=False)
            case watch.NotApplied(message=message):
                out.print(safe(message), markup=False)
            case watch.RunFailed(message=message):
                click.echo(f"error: {safe(message)} (still watching)", err=True)
            case reload.Watching(folders=folders):
                out.print(f"watching {' and '.join(folders)} for edits; Ctrl-C stops", markup=False, style="dim")
            case reload.Loaded(kind=kind, name=name):
                out.print(f"{kind} {name} loaded", markup=False)
            case reload.Unloaded(kind=kind, name=name):
                out.print(f"{kind} {name} unloaded", markup=False)
            case reload.Failed(message=message):
                click.echo(f"error: {safe(message)}", err=True)

    return show
