"""`toolsmith serve`: the local HTTP API for editors and other programs (see docs/http.md)."""

import errno
import socket
from pathlib import Path

import click
import msgspec

from ...base import config as config_module
from ...base.errors import ToolsmithError
from ...tools.model_registry import load_registry, open_engine, resolve_model

LOOPBACK = ("127.0.0.1", "localhost", "::1")



@click.command()
@click.option("--host", help="Address to listen on (default: [server] host, 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), help="Port to listen on (default: [server] port, 8765).")
@click.option("--model", help="Registered model name or model folder to serve (default: the configured one).")
@click.option("--show-key", is_flag=True, help="Print the API key clients must send, and exit.")
@click.option("--reload/--no-reload", default=True, show_default=True, help="Reload single-file plugins and tools when their files change.")
def serve(host: str | None, port: int | None, model: str | None, show_key: bool, reload: bool) -> None:
    """Serve the model (OpenAI-compatible /v1/...) and the tools API (/api/...) over HTTP.

    Every route but /health needs `Authorization: Bearer KEY`; the key is made on
    first start (see --show-key), or set TOOLSMITH_API_KEY. A port that is already in
    use is one error line and exit code 1, before anything is served.
    """
    from ..http.security import api_key

    if show_key:
        click.echo(api_key())
        return
    config = config_module.load()
    if model:
        config = msgspec.structs.replace(config, engine=msgspec.structs.replace(config.engine, model=model))
    host = host or config.server.host
    port = port or config.server.port
    folder = resolve_model(config)  # a bad --model fails here, before the server starts
    served = folder is not None or bool(config.engine.url)
    key = api_key()
    opener = (lambda: open_engine(config)) if served else None
    _serve(host, port, config, _model_name(config, folder) if served else None, opener, key, reload)


def _model_name(config, folder: str | None) -> str:
    """What /v1/models calls the model: its registered name, else its folder's name."""
    wanted = config.engine.model or load_registry().default
    if wanted and wanted in load_registry().models:
        return wanted
    return Path(folder).name if folder else config.engine.backend


def _serve(host: str, port: int, config, model_name: str | None, opener, key: str, reload: bool) -> None:
    import uvicorn

    from ..http import create_app
    from ..http.server import uvicorn_config

    if host not in LOOPBACK:
        click.echo(f"warning: listening on {host}, not loopback; only Host names in [server] allowed_hosts are accepted", err=True)
    shown = f"[{host}]" if ":" in host else host
    sock = _bind(host, port, shown)
    app = create_app(api_key=key, open_engine=opener, model_name=model_name, config=config, reload=reload)
    what = f"model {model_name}" if model_name else "no model (tools API only)"
    click.echo(
        f"serving {what} on http://{shown}:{port} (OpenAI base URL http://{shown}:{port}/v1; key: `toolsmith serve --show-key`)", err=True
    )
    server = uvicorn.Server(uvicorn_config(app, config.server))
    server.run(sockets=[sock])


def _bind(host: str, port: int, shown: str) -> socket.socket:
    """Bind before saying "serving", so that a taken port is one clear error, not a startup crash."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family)
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            raise ToolsmithError(f"{shown}:{port} is already in use (another `toolsmith serve`?); pass --port or stop the other server") from None
        raise ToolsmithError(f"cannot listen on {shown}:{port}: {e.strerror or e}") from None
