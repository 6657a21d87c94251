"""The plugin host: one pluggy manager, loaded once, built-ins first.

Built-in plugins (modules of ``toolsmith.plugins``) are registered through the same
``pm.register`` call as third-party ones. Third-party plugins come from the
``toolsmith`` entry-point group and from single ``*.py`` files in the user's
plugins folder.

Environment:
  TOOLSMITH_LOAD_PLUGINS   comma-separated allowlist of plugin names; only these
                           load (built-ins included). Empty string: none.
  TOOLSMITH_TRACE_PLUGINS  print every hook call, its arguments and results to stderr.
"""

import importlib
import importlib.metadata
import importlib.util
import os
import sys

import pluggy

from . import hookspecs, paths
from .errors import ToolsmithError

DEFAULT_PLUGINS = (
    "toolsmith.plugins.python",
    "toolsmith.plugins.bash",
    "toolsmith.plugins.native_backend",
    "toolsmith.plugins.exllamav2_backend",
    "toolsmith.plugins.remote_backend",
    "toolsmith.plugins.ollama_api",
    "toolsmith.plugins.recipes",
)

pm = pluggy.PluginManager("toolsmith")
pm.add_hookspecs(hookspecs)

_loaded = False


class PluginError(ToolsmithError):
    """A plugin could not be loaded or implements a hook that does not exist."""


def load_plugins() -> pluggy.PluginManager:
    """Load every enabled plugin once and return the manager."""
    global _loaded
    if _loaded:
        return pm
    _loaded = True
    allow = _allowlist()
    for module in DEFAULT_PLUGINS:
        name = module.rsplit(".", 1)[-1]
        if allow is None or name in allow:
            pm.register(importlib.import_module(module), name)
    _load_entry_points(allow)
    _load_plugin_files(allow)
    if os.environ.get("TOOLSMITH_TRACE_PLUGINS"):
        pm.add_hookcall_monitoring(_trace_before, _trace_after)
    check_pending()
    return pm


def check_pending() -> None:
    """Fail, naming the plugin, when an implementation matches no hook (a typo)."""
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as e:
        name = pm.get_name(e.plugin) or repr(e.plugin)
        pm.unregister(e.plugin)
        raise PluginError(
            f"plugin {name!r}: {e}; hooks are named toolsmith_* (see docs/plugin-hooks.md)"
        ) from None


def _allowlist() -> set[str] | None:
    value = os.environ.get("TOOLSMITH_LOAD_PLUGINS")
    if value is None:
        return None
    return {name.strip() for name in value.split(",") if name.strip()}


def allowed(name: str) -> bool:
    """Whether TOOLSMITH_LOAD_PLUGINS lets the plugin `name` load (at start or on reload)."""
    allow = _allowlist()
    return allow is None or name in allow


def _load_entry_points(allow: set[str] | None) -> None:
    for dist in importlib.metadata.distributions():
        for ep in dist.entry_points:
            if ep.group != "toolsmith" or pm.get_plugin(ep.name) is not None:
                continue
            if allow is not None and ep.name not in allow and dist.name not in allow:
                continue
            try:
                plugin = ep.load()
            except Exception as e:
                raise PluginError(f"plugin {ep.name!r} from {dist.name} failed to import: {e}") from e
            _register(plugin, ep.name)
            pm._plugin_distinfo.append((plugin, pluggy._manager.DistFacade(dist)))


def _load_plugin_files(allow: set[str] | None) -> None:
    folder = paths.plugins_dir()
    if not folder.is_dir():
        return
    for path in sorted(folder.glob("*.py")):
        if allow is None or path.stem in allow:
            _register(import_plugin_file(path), path.stem)


def import_plugin_file(path):
    """Import a single-file plugin as a fresh module (not yet registered)."""
    spec = importlib.util.spec_from_file_location(f"toolsmith_plugin_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as e:
        raise PluginError(f"plugin file {path} failed to load: {type(e).__name__}: {e}") from e
    return module


def _register(plugin, name: str) -> None:
    try:
        pm.register(plugin, name)
    except pluggy.PluginValidationError as e:
        raise PluginError(f"plugin {name!r}: {e}") from None
    except ValueError as e:
        raise PluginError(f"plugin {name!r} clashes with one already loaded: {e}") from None


def _trace_before(hook_name, hook_impls, kwargs):
    names = ", ".join(pm.get_name(impl.plugin) or "?" for impl in hook_impls)
    print(f"[toolsmith] {hook_name}({_short(kwargs)}) -> {names}", file=sys.stderr)


def _trace_after(outcome, hook_name, hook_impls, kwargs):
    if outcome.exception is not None:
        print(f"[toolsmith] {hook_name} raised {outcome.exception!r}", file=sys.stderr)
    else:
        print(f"[toolsmith] {hook_name} returned {_short(outcome.get_result())}", file=sys.stderr)


def _short(value, limit: int = 200) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe_plugins() -> list[dict]:
    """Name, hooks, version (for distributions) and engines, with why one cannot run here."""
    load_plugins()
    versions = {id(plugin): dist.version for plugin, dist in pm.list_plugin_distinfo()}
    engines: dict[str, list[dict]] = {}
    for plugin_name, backend in collect("toolsmith_register_engines"):
        reason = backend.unavailable()
        engines.setdefault(plugin_name, []).append({"name": backend.name, "available": reason is None, "reason": reason})
    rows = []
    for plugin in pm.get_plugins():
        name = pm.get_name(plugin)
        hooks = sorted(caller.name for caller in pm.get_hookcallers(plugin) or [])
        row = {"name": name, "hooks": hooks}
        if id(plugin) in versions:
            row["version"] = versions[id(plugin)]
        if name in engines:
            row["engines"] = engines[name]
        rows.append(row)
    return sorted(rows, key=lambda row: row["name"])


def collect(hook_name: str) -> list[tuple[str, object]]:
    """Call a ``register``-style hook on every plugin; return (plugin name, item) pairs.

    Calling each plugin's implementation ourselves (rather than through
    ``pm.hook``) is what lets us attribute every item to the plugin that made it.
    """
    load_plugins()
    items = []
    for impl in getattr(pm.hook, hook_name).get_hookimpls():
        plugin_name = pm.get_name(impl.plugin)
        impl.function(register=lambda item, _name=plugin_name: items.append((_name, item)))
    return items
