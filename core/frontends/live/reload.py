"""Reload single-file plugins and tools while Toolsmith runs (`toolsmith dev`, `toolsmith serve`).

The `Reloader` watches the plugins folder (`*.py`) and the tool library
(`NAME/tool.toml` and the source file). A changed plugin file is imported afresh
and swapped in for the old module; a changed tool is loaded and checked. When
either is broken (an import error, a misspelled hook, a bad manifest, a failing
check), the error is reported and the last good version stays in use: the old
plugin stays registered, and `Reloader.tool(name)` keeps returning the last
tool that passed.

Plugins installed as distributions (entry points) are not reloaded: Python
cannot safely re-import an installed package; restart for those.
"""

import asyncio
import os
import re
from collections.abc import Callable
from pathlib import Path

import msgspec
import pluggy
import watchfiles

from ...base import config as config_module
from ...base import paths
from ...base import plugin_host as plugins
from ...base.config import ChecksConfig
from ...base.errors import ToolsmithError
from ...base.manifest import MANIFEST_FILE, NAME_PATTERN
from ...base.plugin_host import load_plugins, pm
from ...tools import retrieval
from ...tools.checks import check_source, has_errors
from ...tools.languages import languages
from ...tools.library import Library, Tool
from .watch import started

EDITOR_QUIET_MS = 250  # editors save in several steps; wait this long after the last one


class ReloadEvent(msgspec.Struct, kw_only=True, tag_field="type"):
    pass


class Watching(ReloadEvent, tag="watching_for_edits"):
    folders: list[str]


class Loaded(ReloadEvent, tag="loaded"):
    kind: str  # "plugin" or "tool"
    name: str


class Unloaded(ReloadEvent, tag="unloaded"):
    kind: str
    name: str


class Failed(ReloadEvent, tag="failed"):
    kind: str
    name: str
    message: str
    kept: bool  # whether a last good version is still in use


class ToolUnavailable(ToolsmithError):
    """A tool never loaded cleanly since the reloader started."""


class Reloader:
    """Keeps plugins and tools current; reports each reload through `on_event`."""

    def __init__(
        self,
        on_event: Callable[[ReloadEvent], None],
        *,
        library: Library | None = None,
        quiet_ms: int = EDITOR_QUIET_MS,
        settings: ChecksConfig | None = None,
    ):
        self.on_event = on_event
        self.settings = settings or config_module.load().checks  # read once: restart to change
        self.library = library or Library()
        self.quiet_ms = quiet_ms
        self._tools: dict[str, Tool] = {}

    def tool(self, name: str) -> Tool:
        """The last good version of a tool (what a server should run)."""
        if name not in self._tools:
            raise ToolUnavailable(f"tool {name!r} is missing or has not passed its checks since startup (see `toolsmith dev`)")
        return self._tools[name]

    def tools(self) -> dict[str, Tool]:
        """Every tool's last good version, by name."""
        return dict(self._tools)

    def load_all(self) -> None:
        """Load plugins and check every tool once, reporting the broken ones."""
        load_plugins()
        for name in self.library.names():
            self.reload_tool(name, quiet=True)

    async def run(self, stop: asyncio.Event) -> None:
        """Watch the plugins folder and the library until `stop` is set."""
        folders = [paths.plugins_dir(), self.library.root]
        for folder in folders:
            folder.mkdir(parents=True, exist_ok=True)
        watch_filter = _Filter(paths.plugins_dir(), self.library.root)
        batches = watchfiles.awatch(*folders, watch_filter=watch_filter, step=self.quiet_ms, stop_event=stop)
        async for changes in started(batches):
            if changes is None:
                self.on_event(Watching(folders=[str(f) for f in folders]))
            else:
                self.handle({path for _, path in changes})

    def handle(self, changed: set[str]) -> None:
        """Reload what the changed paths belong to, each plugin or tool once."""
        plugin_dir, tools_dir = paths.plugins_dir(), self.library.root
        targets = set()
        for path in map(Path, changed):
            if path.parent == plugin_dir:
                targets.add(("plugin", path.stem))
            elif path.parent == tools_dir:  # a tool's folder appeared or went (to the trash)
                targets.add(("tool", path.name))
            elif path.parent.parent == tools_dir:
                targets.add(("tool", path.parent.name))
        for kind, name in sorted(targets):
            if kind == "tool" and not re.fullmatch(NAME_PATTERN, name):
                continue  # not a tool's folder (a stray file or folder in the library)
            if kind == "plugin":
                self.reload_plugin(name)
            else:
                self.reload_tool(name)

    # -- plugins ---------------------------------------------------------------

    def reload_plugin(self, name: str) -> None:
        path = paths.plugins_dir() / f"{name}.py"
        old = pm.get_plugin(name)
        if old is not None and not _from_file(old, path):
            self.on_event(Failed(kind="plugin", name=name, message=f"{path.name} has the name of an installed plugin; rename the file", kept=True))
            return
        if not plugins.allowed(name):  # TOOLSMITH_LOAD_PLUGINS applies to reloads too
            return
        if not path.exists():
            if old is not None:
                pm.unregister(old)
                _plugins_changed()
                self.on_event(Unloaded(kind="plugin", name=name))
            return
        try:
            module = plugins.import_plugin_file(path)
            _swap(old, module, name)
        except Exception as e:  # a plugin's import can raise anything; the host stays up
            message = str(e) if isinstance(e, ToolsmithError) else f"{path} failed to load: {type(e).__name__}: {e}"
            if old is not None:
                message += "; the last good version stays loaded"
            self.on_event(Failed(kind="plugin", name=name, message=message, kept=old is not None))
            return
        _plugins_changed()
        self.on_event(Loaded(kind="plugin", name=name))

    # -- tools -----------------------------------------------------------------

    def reload_tool(self, name: str, quiet: bool = False) -> None:
        """Load and check a tool; keep it as the last good version only when it passes."""
        if not self.library.exists(name):
            if self._tools.pop(name, None) is not None:
                self.on_event(Unloaded(kind="tool", name=name))
            return
        try:
            tool = self.library.load(name)
            found = check_source(tool.source, tool.manifest, tool.manifest.language, self.settings)
        except Exception as e:  # a broken tool, config or check plugin; the host stays up
            self._tool_failed(name, str(e) if isinstance(e, ToolsmithError) else f"{type(e).__name__}: {e}")
            return
        if has_errors(found):
            first = next(d for d in found if d.severity == "error")
            self._tool_failed(name, f"{tool.source_path.name}:{first.line}:{first.column}: {first.rule}: {first.message}")
            return
        self._tools[name] = tool
        if not quiet:
            self.on_event(Loaded(kind="tool", name=name))

    def _tool_failed(self, name: str, message: str) -> None:
        kept = name in self._tools
        suffix = "; still using the last good version" if kept else ""
        self.on_event(Failed(kind="tool", name=name, message=f"tool {name!r}: {message}{suffix}", kept=kept))


class _Filter(watchfiles.DefaultFilter):
    """Plugin files (`*.py` directly in the plugins folder), tool folders and their current files (not history)."""

    def __init__(self, plugin_dir: Path, tools_dir: Path):
        super().__init__()
        self.plugin_dir, self.tools_dir = plugin_dir, tools_dir

    def __call__(self, change: watchfiles.Change, path: str) -> bool:
        if not super().__call__(change, path):
            return False
        p = Path(path)
        if p.parent == self.plugin_dir:
            return p.suffix == ".py"
        if p.parent == self.tools_dir:
            return True
        if p.parent.parent == self.tools_dir:
            return p.name == MANIFEST_FILE or p.name in {language.source_file for language in languages().values()}
        return False


def _swap(old, new, name: str) -> None:
    """Register `new` in place of `old`; on any validation error, put `old` back and raise."""
    if old is not None:
        pm.unregister(old)
    try:
        pm.register(new, name)
        plugins.check_pending()  # unregisters `new` when it implements a hook that does not exist
    except (pluggy.PluginValidationError, plugins.PluginError) as e:
        if pm.is_registered(new):
            pm.unregister(new)
        if old is not None:
            pm.register(old, name)
        raise plugins.PluginError(f"plugin {name!r}: {e}") from None


def _plugins_changed() -> None:
    """Drop what was built from the plugins' registrations (the recipe search index)."""
    retrieval.default_index.cache_clear()


def _from_file(plugin, path: Path) -> bool:
    file = getattr(plugin, "__file__", None)
    return file is not None and os.path.realpath(file) == os.path.realpath(path)


