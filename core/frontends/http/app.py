"""The Litestar application: OpenAI-compatible model routes, the tools API, health and metrics."""

import asyncio
import importlib.metadata
import logging
import time
from collections.abc import Callable
from contextlib import asynccontextmanager

import msgspec
from litestar import Litestar, Response, get
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from ...base import config as config_module
from ...base.config import Config
from ...base.plugin_host import collect
from ..live.reload import Reloader
from . import errors
from .errors import RESPONSES
from .metrics import metrics
from .model_slot import ModelSlot
from .openai_routes import InfillController, OpenAIController, TokenizerController
from .security import make_guard
from .streaming import ClientGone
from .tools_routes import CatalogController, RunsController, ToolsController

log = logging.getLogger("toolsmith.http")


class Health(msgspec.Struct, kw_only=True):
    status: str  # "ok"
    model: str | None  # None when no model is served


@get(
    "/health",
    responses=RESPONSES,
    summary="200 once the model is loaded, 503 while it loads",
    tags=["Server"],
    opt={"public": True},
    security=[{}],  # the one route that needs no key
)
async def health(state: State) -> Health:
    slot: ModelSlot = state.slot
    if slot.configured and slot.engine is None:
        slot.ready()  # raises the 503 that says why (loading, or failed)
    return Health(status="ok", model=slot.name if slot.configured else None)


def create_app(
    *,
    api_key: str,
    open_engine: Callable[[], object] | None = None,
    model_name: str | None = None,
    config: Config | None = None,
    reload: bool = False,
) -> Litestar:
    """The server's app. `open_engine` builds the engine (in a worker thread, after start-up);
    None serves the tools API only. Plugins add routes through `toolsmith_register_routes`.

    With `reload`, single-file plugins and tools are reloaded when their files change;
    a broken edit is logged and the last good version keeps serving.
    """
    config = config or config_module.load()
    settings = config.server
    slot = ModelSlot(model_name, open_engine)
    reloader = Reloader(_log_reload, settings=config.checks) if reload else None

    @asynccontextmanager
    async def watch_files(app: Litestar):
        if reloader is None:
            yield
            return
        await asyncio.to_thread(reloader.load_all)
        stop = asyncio.Event()
        watching = asyncio.create_task(reloader.run(stop))
        try:
            yield
        finally:
            stop.set()
            await watching

    @asynccontextmanager
    async def serve_model(app: Litestar):
        loading = asyncio.create_task(slot.load()) if slot.configured else None
        try:
            yield
        finally:
            if loading is not None:
                await loading  # a model half-loaded in its thread cannot be interrupted; let it finish
            await asyncio.to_thread(slot.close)

    plugin_routes = [handler for _, handler in collect("toolsmith_register_routes")]
    return Litestar(
        route_handlers=[
            health,
            metrics,
            OpenAIController,
            InfillController,
            TokenizerController,
            ToolsController,
            RunsController,
            CatalogController,
            *plugin_routes,
        ],
        guards=[make_guard(api_key, settings.allowed_hosts)],
        lifespan=[serve_model, watch_files],
        state=State({"slot": slot, "settings": settings, "config": config, "started": time.time(), "reloader": reloader}),
        exception_handlers={ClientGone: _client_gone, **errors.EXCEPTION_HANDLERS},
        request_max_body_size=settings.max_body_bytes,
        cors_config=CORSConfig(allow_origins=settings.cors_origins) if settings.cors_origins else None,
        openapi_config=OpenAPIConfig(
            title="Toolsmith",
            version=_version(),
            path="/schema",
            security=[{"apiKey": []}],
            components=Components(
                security_schemes={"apiKey": SecurityScheme(type="http", scheme="bearer", description="`toolsmith serve --show-key`")}
            ),
        ),
    )


def _log_reload(event) -> None:
    log.warning("reload: %s", msgspec.json.encode(event).decode())


def _client_gone(request, exc: ClientGone) -> Response:
    return errors.error_response(499, "the client closed the connection")


def _version() -> str:
    try:
        return importlib.metadata.version("toolsmith")
    except importlib.metadata.PackageNotFoundError:
        return "0"
