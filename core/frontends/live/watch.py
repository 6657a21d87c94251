"""Triggers: run a tool whenever files appear or change in a folder.

`toolsmith watch NAME PATH` (or a tool's `[trigger]` section) makes a `Watcher`.
Changes are debounced, so a burst of files (a camera card being copied) is one
run. Every run goes through the sandbox and the journal exactly like
`toolsmith run`: it is previewed, then applied only when the trigger says
`auto_apply` or the `confirm` callback agrees; otherwise it stays previewed for
`toolsmith runs apply RUN_ID`. A failing run is reported and watching goes on.
"""

import asyncio
import fnmatch
import os
from collections.abc import Callable
from pathlib import Path

import msgspec
import watchfiles

from ...base import config as config_module
from ...base.config import SandboxConfig
from ...base.errors import ToolsmithError
from ...base.manifest import Trigger, trigger_parameter
from ...tools import run_service
from ...tools.invocation import option
from ...tools.library import Library, Tool
from ..errors import USER_ERRORS

MAX_BATCH_WINDOW_MS = 10_000  # a steady stream of files still runs at least this often


class WatchError(ToolsmithError):
    pass


class WatchEvent(msgspec.Struct, kw_only=True, tag_field="type"):
    pass


class Watching(WatchEvent, tag="watching"):
    tool: str
    folder: str
    patterns: list[str]
    auto_apply: bool


class Changed(WatchEvent, tag="changed"):
    files: list[str]  # relative to the watched folder, sorted


class Previewed(WatchEvent, tag="previewed"):
    run_id: str
    summary: str
    changes: int
    stdout: str
    stderr: str


class Applied(WatchEvent, tag="applied"):
    run_id: str


class NotApplied(WatchEvent, tag="not_applied"):
    run_id: str
    message: str


class RunFailed(WatchEvent, tag="run_failed"):
    message: str
    run_id: str | None = None


def resolve_trigger(tool: Tool, path: str | None = None, args: list[str] | None = None, **overrides) -> Trigger:
    """The tool's `[trigger]` with the command line's PATH, ARGS and options on top."""
    trigger = tool.manifest.trigger or Trigger()
    changes = {key: value for key, value in overrides.items() if value is not None}
    if path:
        changes["path"] = str(Path(path).expanduser().absolute())
    if args:
        changes["args"] = list(args)
    trigger = msgspec.structs.replace(trigger, **changes)
    if not trigger.path:
        raise WatchError(f"no folder to watch: give one (`toolsmith watch {tool.manifest.name} PATH`) or set path in the tool's [trigger]")
    try:
        trigger_parameter(tool.manifest, trigger.parameter)
    except ValueError as e:
        raise WatchError(f"{tool.manifest.name}: {e}") from None
    return trigger


def folder_of(trigger: Trigger) -> Path:
    folder = Path(trigger.path).expanduser().resolve()
    if not folder.is_dir():
        raise WatchError(f"cannot watch {trigger.path}: it is not a folder")
    return folder


def tool_args(tool: Tool, trigger: Trigger, folder: Path) -> list[str]:
    """The watched folder in its parameter's place, then the trigger's other arguments."""
    parameter = trigger_parameter(tool.manifest, trigger.parameter)
    head = [str(folder)] if parameter.positional else [option(parameter), str(folder)]
    return [*head, *trigger.args]


class _Filter(watchfiles.DefaultFilter):
    """Files that appeared or changed and match the trigger's patterns (DefaultFilter's ignores kept)."""

    def __init__(self, patterns: list[str]):
        super().__init__()
        self.patterns = patterns

    def __call__(self, change: watchfiles.Change, path: str) -> bool:
        if change == watchfiles.Change.deleted or not super().__call__(change, path):
            return False
        name = os.path.basename(path)
        return not self.patterns or any(fnmatch.fnmatch(name, p) for p in self.patterns)


class Watcher:
    """Runs one tool on one folder whenever files there appear or change.

    `on_event` receives every `WatchEvent` on the event loop's thread. `confirm`
    is asked (in a worker thread, so it may block on a prompt) whether to apply a
    previewed run; without it, runs are applied only when `trigger.auto_apply`.
    `load_tool` gives the tool for each run (default: the library's current
    files; a server passes `Reloader.tool` to run the last good version).
    `settings` are the run limits (default: the config's, read once here).
    `allow_network` gives a tool that asks for network access that access (the
    user's own option); otherwise its runs are refused, and so are path defaults.
    """

    def __init__(
        self,
        name: str,
        trigger: Trigger,
        *,
        on_event: Callable[[WatchEvent], None],
        confirm: Callable[[object], bool] | None = None,
        load_tool: Callable[[str], Tool] | None = None,
        settings: SandboxConfig | None = None,
        allow_network: bool = False,
    ):
        self.name = name
        self.trigger = trigger
        self.folder = folder_of(trigger)
        self.on_event = on_event
        self.confirm = confirm
        self.load_tool = load_tool or Library().load
        self.settings = settings or config_module.load().sandbox
        self.allow_network = allow_network  # the user's own --allow-network; never the manifest's say
        self._settled: dict[str, tuple | None] = {}  # what our own applies left behind

    async def run(self, stop: asyncio.Event) -> None:
        """Watch until `stop` is set; each debounced batch of changes is one run."""
        t = self.trigger
        batches = watchfiles.awatch(
            self.folder,
            watch_filter=_Filter(t.patterns),
            step=t.debounce_ms,
            debounce=max(MAX_BATCH_WINDOW_MS, t.debounce_ms),
            stop_event=stop,
        )
        async for changes in started(batches):
            if changes is None:
                self.on_event(Watching(tool=self.name, folder=str(self.folder), patterns=t.patterns, auto_apply=t.auto_apply))
                continue
            files = self._news(changes)
            if files:
                self.on_event(Changed(files=files))
                await self.run_once()

    async def run_once(self) -> None:
        """Preview one run, then apply it, leave it previewed, or report why it failed."""
        try:
            result = await asyncio.to_thread(self._preview)
        except Exception as e:  # the watcher outlives any one run: report and go on
            self.on_event(RunFailed(message=_one_line(e)))
            return
        count = len(result.changes)
        self.on_event(Previewed(run_id=result.run_id, summary=result.summary, changes=count, stdout=result.stdout, stderr=result.stderr))
        if failure := result.failure(self.name):
            self.on_event(RunFailed(run_id=result.run_id, message=failure))
            return
        if not count:
            return
        if not (self.trigger.auto_apply or (self.confirm and await asyncio.to_thread(self.confirm, result))):
            self.on_event(NotApplied(run_id=result.run_id, message=f"not applied; apply with `toolsmith runs apply {result.run_id}`"))
            return
        try:
            applied = await asyncio.to_thread(run_service.apply, result.run_id)
        except Exception as e:
            self.on_event(RunFailed(run_id=result.run_id, message=_one_line(e)))
            return
        self._remember(applied.changes)
        self.on_event(Applied(run_id=result.run_id))

    def _preview(self) -> run_service.ToolRun:
        tool = self.load_tool(self.name)  # every run uses the tool as it is now
        return run_service.preview(tool, tool_args(tool, self.trigger, self.folder), self.folder, self.settings,
                                   allow_network=self.allow_network, hint="watch with --allow-network")

    def _news(self, changes: set[tuple[watchfiles.Change, str]]) -> list[str]:
        """Changed paths, less those our own last apply left exactly as they are now."""
        fresh = set()
        for _, path in changes:
            if path in self._settled and self._settled.pop(path) == _stamp(path):
                continue
            fresh.add(os.path.relpath(path, self.folder))
        return sorted(fresh)

    def _remember(self, changes: list) -> None:
        self._settled = {}
        for c in changes:
            for rel in filter(None, (c.path, c.old_path)):
                path = os.path.join(c.root, rel)
                self._settled[path] = _stamp(path)


async def started(batches):
    """Yield None once the watch is in place, then the batches of an `awatch`.

    awatch sets up its inotify watches when first stepped, before its first
    await; announcing only then means no file written after "watching" is missed.
    """
    first = asyncio.ensure_future(anext(batches))
    await asyncio.sleep(0)
    yield None
    try:
        yield await first
    except StopAsyncIteration:
        return
    async for changes in batches:
        yield changes


def _stamp(path: str) -> tuple | None:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def _one_line(e: Exception) -> str:
    return str(e) if isinstance(e, USER_ERRORS) else f"{type(e).__name__}: {e}"


def encode(event: WatchEvent) -> bytes:
    return msgspec.json.encode(event)
