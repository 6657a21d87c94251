"""Who may call the API: a bearer key, and only through a loopback Host name.

The key is made on first start and kept in the config folder with 0600
permissions, so only the user (and programs they give it to) can call the
server. The Host check defends against DNS rebinding: a web page whose name
resolves to 127.0.0.1 still sends its own name as Host, and is refused.
"""

import hmac
import os
import re
import secrets
from pathlib import Path

from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from ...base import paths
from ...base.errors import ToolsmithError
from .errors import ApiError

KEY_ENV = "TOOLSMITH_API_KEY"
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")


def key_file() -> Path:
    return paths.config_dir() / "api-key"


def api_key() -> str:
    """``TOOLSMITH_API_KEY``, else the stored key, made (0600) the first time."""
    if os.environ.get(KEY_ENV):
        return os.environ[KEY_ENV]
    path = key_file()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another server made it just now
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write("tsk-" + secrets.token_urlsafe(32) + "\n")
    key = path.read_text().strip()
    if not key:
        raise ToolsmithError(f"the API key file {path} is empty; delete it and a new key is made on the next start")
    return key


# RFC 9110 Host: a bracketed IPv6 literal or a plain name, then an optional port; nothing else
# (no userinfo, no trailing text: `[::1]evil` and `127.0.0.1:80@evil.example` are not loopback).
_HOST = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::[0-9]{1,5})?")


def host_name(host_header: str) -> str | None:
    """The name part of a Host header (``[::1]:8765`` -> ``[::1]``, ``localhost:80`` -> ``localhost``),
    lower-cased; None when the header is not a well-formed host[:port]."""
    m = _HOST.fullmatch(host_header)
    return m.group(1).lower() if m else None


def make_guard(key: str, extra_hosts: list[str]):
    """A Litestar guard: Host on every route; the key on all but routes marked ``opt={"public": True}``."""
    if not key:
        raise ValueError("the API key must not be empty")
    allowed = {*LOOPBACK_HOSTS, *(h.lower() for h in extra_hosts)}
    expected = key.encode()

    def guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
        raw = connection.headers.get("host", "")
        host = host_name(raw)
        if host is None or host not in allowed:
            shown = host or raw[:100] or "(none)"
            raise ApiError(403, f"Host {shown!r} is not allowed; call the server as localhost, 127.0.0.1 or [::1]")
        if handler.opt.get("public"):
            return
        if not hmac.compare_digest(presented_key(connection).encode(), expected):
            raise ApiError(401, "missing or wrong API key; send 'Authorization: Bearer KEY' (see `toolsmith serve --show-key`)")

    return guard


def presented_key(connection: ASGIConnection) -> str:
    """The key from ``Authorization: Bearer KEY`` or, as some clients send it, ``x-api-key``."""
    scheme, _, value = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return connection.headers.get("x-api-key", "")
