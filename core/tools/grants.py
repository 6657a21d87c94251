"""The policy of one tool run: the paths the user passed, with the access the manifest declares.

A tool never gets a path because it asked for it; it gets what the user handed to its
path parameters, read-only or writable as its manifest says, plus its own folder
read-only. Everything else stays out of its view.
"""

import os

from toolsmith.sandbox.policy import Policy

from ..base import paths
from ..base.errors import ToolsmithError
from ..base.manifest import PATH_KINDS, Manifest


class GrantError(ToolsmithError):
    """A path the user passed cannot be granted to the tool (missing, or refused)."""


def tool_policy(
    manifest: Manifest,
    arguments: dict[str, object],
    *,
    tool_dir: str,
    cwd: str | None = None,
    timeout: float = 60.0,
    memory_mb: int = 2048,
    allow_degraded: bool = False,
) -> Policy:
    """Policy for running ``manifest``'s tool with ``arguments`` ({parameter name: value or list}).

    Relative paths are taken from ``cwd`` (default: ours). A write parameter that names a
    file grants its folder, because previews work on folders; the preview shows every
    change there before anything is applied.
    """
    declared = {p.name: p for p in manifest.parameters}
    unknown = sorted(set(arguments) - set(declared))
    if unknown:
        known = ", ".join(declared) or "none"
        raise GrantError(f"tool {manifest.name!r} has no parameter {unknown[0]!r} (it has: {known})")
    reads, writes = [os.path.realpath(tool_dir)], []
    for name, value in arguments.items():
        param = declared[name]
        if param.kind not in PATH_KINDS or value is None:
            continue
        for item in value if isinstance(value, list) else [value]:
            path = os.path.realpath(os.path.join(cwd or os.getcwd(), os.path.expanduser(str(item))))
            if param.access == "read":
                if not os.path.exists(path):
                    raise GrantError(f"{name}: {item!r} does not exist")
                reads.append(_allowed(name, path))
            else:
                folder = path if os.path.isdir(path) else os.path.dirname(path)
                if not os.path.isdir(folder):
                    raise GrantError(f"{name}: {str(item)!r} does not exist, and its folder {folder!r} does not either; create it first")
                writes.append(_allowed(name, folder))
    return Policy(
        read_paths=list(dict.fromkeys(reads)),
        write_paths=list(dict.fromkeys(writes)),
        network=manifest.network,
        timeout=timeout,
        memory_mb=memory_mb,
        allow_degraded=allow_degraded,
    )


def _allowed(name: str, path: str) -> str:
    """Refuse grants that would hand over the whole system, the home folder or toolsmith itself."""
    if path == "/":
        raise GrantError(f"{name}: '/' would give the tool the whole filesystem; pass the folder it needs")
    if path == os.path.realpath(os.path.expanduser("~")):
        raise GrantError(f"{name}: {path!r} is your whole home folder; pass the folder inside it that the tool needs")
    for own in (paths.config_dir(), paths.data_dir(), paths.cache_dir()):
        own = os.path.realpath(own)
        if own == path or own.startswith(path.rstrip("/") + "/"):
            raise GrantError(f"{name}: {path!r} holds toolsmith's own files ({own}); pass a folder outside it")
    return path
