"""What one tool run may touch: the paths the user passed, with the access the manifest declares.

A tool never gets a path because it asked for it: it gets what the user handed to its
path parameters (a default is used only when the user confirmed it), read-only or
writable as its manifest says, plus its own folder read-only. Some folders are never
granted, to anyone, whoever asks (see docs/security.md): judged after symlinks are
resolved, each refusal is one line naming the rule and the path.
"""

import os
from typing import Literal

import msgspec

from toolsmith.sandbox.policy import Policy

from ..base import paths
from ..base.errors import ToolsmithError
from ..base.manifest import PATH_KINDS, Manifest


class GrantError(ToolsmithError):
    """A path the user passed cannot be granted to the tool (missing, or refused)."""


class Grant(msgspec.Struct, kw_only=True, frozen=True):
    """One path the tool can reach, and why: shown to the user before every run."""

    path: str  # absolute, symlinks resolved; for writes always a folder
    access: Literal["read", "write"]
    parameter: str | None = None  # the parameter that received it; None: the tool's own folder
    default: bool = False  # from the manifest's default (the user confirmed it), not typed by the user


SYSTEM_TREES = ("/etc", "/usr", "/boot", "/dev", "/proc", "/sys", "/run", "/var", "/bin", "/sbin",
                "/lib", "/lib32", "/lib64", "/libx32")
CREDENTIAL_STORES = (  # from the home folder
    ".ssh", ".gnupg", ".aws", ".azure", ".kube", ".docker", ".netrc", ".git-credentials", ".pki", ".password-store",
    ".config/gh", ".config/gcloud", ".config/hub", ".config/op", ".config/keepassxc", ".local/share/keyrings",
    ".local/share/kwalletd", ".mozilla", ".thunderbird", ".config/google-chrome", ".config/chromium",
    ".config/BraveSoftware", ".config/microsoft-edge", ".config/vivaldi", ".config/opera", ".var/app",
)


def grants(
    manifest: Manifest,
    arguments: dict[str, object],
    *,
    tool_dir: str,
    cwd: str | None = None,
    defaults: tuple[str, ...] | list[str] = (),
) -> list[Grant]:
    """The grants for running ``manifest``'s tool with ``arguments`` ({parameter name: value or list}).

    Relative paths are taken from ``cwd`` (default: ours). A write parameter that names a
    file grants its folder, because previews work on folders; the preview shows every
    change there before anything is applied. ``defaults`` names the parameters whose
    value is the manifest's default rather than the user's.
    """
    declared = {p.name: p for p in manifest.parameters}
    unknown = sorted(set(arguments) - set(declared))
    if unknown:
        known = ", ".join(declared) or "none"
        raise GrantError(f"tool {manifest.name!r} has no parameter {unknown[0]!r} (it has: {known})")
    found = [Grant(path=os.path.realpath(tool_dir), access="read")]
    for name, value in arguments.items():
        param = declared[name]
        if param.kind not in PATH_KINDS or value is None:
            continue
        for item in value if isinstance(value, list) else [value]:
            path = os.path.realpath(os.path.join(cwd or os.getcwd(), os.path.expanduser(str(item))))
            if param.access == "read":
                if not os.path.exists(path):
                    raise GrantError(f"{name}: {item!r} does not exist")
            else:
                refuse(name, path)  # the file itself, before its folder stands in for it
                folder = path if os.path.isdir(path) else os.path.dirname(path)
                if not os.path.isdir(folder):
                    raise GrantError(f"{name}: {str(item)!r} does not exist, and its folder {folder!r} does not either; create it first")
                path = folder
            refuse(name, path)
            found.append(Grant(path=path, access=param.access, parameter=name, default=name in defaults))
    unique: dict[tuple[str, str], Grant] = {}
    for g in found:
        unique.setdefault((g.path, g.access), g)
    return list(unique.values())


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
    """The sandbox policy of `grants` (network as the manifest declares; approving it is the run service's job)."""
    return policy_of(grants(manifest, arguments, tool_dir=tool_dir, cwd=cwd), manifest.network,
                     timeout=timeout, memory_mb=memory_mb, allow_degraded=allow_degraded)


def policy_of(found: list[Grant], network: bool, **limits) -> Policy:
    return Policy(
        read_paths=[g.path for g in found if g.access == "read"],
        write_paths=[g.path for g in found if g.access == "write"],
        network=network,
        **limits,
    )


def refuse(name: str, path: str) -> None:
    """Raise if `path` (absolute, resolved) is, is inside, or holds a folder never granted."""
    if why := refused(path):
        rule, detail = why
        raise GrantError(f"{name}: cannot grant {path!r}: {detail} (rule: {rule}); pass a folder of your own that holds only what the tool needs")


def refused(path: str) -> tuple[str, str] | None:
    """(rule, why) when `path` must never be granted, else None."""
    path = os.path.realpath(path)
    home = os.path.realpath(os.path.expanduser("~"))
    if path == "/":
        return "whole filesystem", "it would give the tool the whole filesystem"
    if path == home:
        return "home folder", "it is your whole home folder"
    for own in (paths.config_dir(), paths.data_dir(), paths.cache_dir()):
        own = os.path.realpath(own)
        if _overlap(path, own):
            return "toolsmith's own folders", f"{_relation(path, own)} toolsmith's own folder {own}"
    for tree in SYSTEM_TREES:
        for real in {tree, os.path.realpath(tree)}:
            if _inside(path, real):
                return "system folders", f"it is inside the system folder {tree}"
    for store in CREDENTIAL_STORES:
        real = os.path.realpath(os.path.join(home, store))
        if _overlap(path, real):
            return "credential stores", f"{_relation(path, real)} the credential store ~/{store}"
    return None


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _relation(path: str, folder: str) -> str:
    return "it is" if path == folder else "it is inside" if _inside(path, folder) else "it holds"


def _overlap(path: str, folder: str) -> bool:
    """`path` is `folder`, lies inside it, or holds it."""
    return _inside(path, folder) or _inside(folder, path)
