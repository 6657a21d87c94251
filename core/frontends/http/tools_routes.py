"""Toolsmith's own API under ``/api/``: tools, the forge, sandboxed runs, recipes, plugins.

A run never changes the user's files by itself: ``POST /api/tools/{name}/run``
previews (the plan of file changes), and only ``POST /api/runs/{id}/apply``
applies that run; ``POST /api/runs/{id}/undo`` puts the files back.
"""

import asyncio
import datetime as dt
import threading
from pathlib import Path

import msgspec
from litestar import Controller, get, post
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.response import Stream

from toolsmith.sandbox.run_store import RunError, RunSummary

from ...base.manifest import Manifest, Parameter, check_name
from ...base.plugin_host import describe_plugins
from ...forge import events as ev
from ...forge.pipeline import forge_edit, forge_new
from ...tools import run_service
from ...tools.library import Library, Version
from ...tools.recipes import recipes
from ...tools.retrieval import search
from ...tools.run_service import ToolRun
from ..errors import USER_ERRORS
from ..live.reload import ToolUnavailable
from .errors import RESPONSES, ApiError
from .openapi import forge_events_operation
from .streaming import event_stream, frame

RECIPE_LIMIT = 50


class ToolSummary(msgspec.Struct, kw_only=True):
    name: str
    description: str
    language: str
    origin: str
    updated: dt.datetime
    parameters: list[Parameter]


class ToolDetail(msgspec.Struct, kw_only=True):
    manifest: Manifest
    source: str
    versions: list[Version]


class NewTool(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    description: str
    name: str | None = None
    recipe: str | None = None  # use this built-in recipe
    generate: bool = False  # ask the model even when a vetted recipe surely fits


class EditTool(msgspec.Struct, kw_only=True):
    change: str


class RunRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    cwd: str  # absolute folder that relative path arguments are resolved against
    args: list[str] = []  # the only way to grant a path: a tool's path defaults are never used here
    allow_degraded: bool = False
    allow_network: bool = False  # required for a tool that asks for network access


class RecipeView(msgspec.Struct, kw_only=True):
    name: str
    description: str
    score: float | None = None  # with a query: how well it matches, in [0, 1]


class EngineView(msgspec.Struct, kw_only=True):
    name: str
    available: bool
    reason: str | None  # why it cannot run here


class PluginView(msgspec.Struct, kw_only=True):
    name: str
    hooks: list[str]
    version: str | None = None
    engines: list[EngineView] = []


class ToolsController(Controller):
    path = "/api/tools"
    tags = ["Tools"]

    @get("/", responses=RESPONSES, summary="Every saved tool", sync_to_thread=True)
    def list_tools(self, state: State) -> list[ToolSummary]:
        if state.reloader is not None:  # the last good version of each tool
            return [_summary(tool.manifest) for _, tool in sorted(state.reloader.tools().items())]
        return [_summary(tool.manifest) for tool in Library().tools()]

    @get("/{name:str}", responses=RESPONSES, summary="A tool: manifest, source and versions", sync_to_thread=True)
    def show_tool(self, name: FromPath[str], state: State) -> ToolDetail:
        library = _library_with(name)
        tool = _serving(state, library, name)
        return ToolDetail(manifest=tool.manifest, source=tool.source, versions=library.history(name))

    @post(
        "/",
        status_code=200,
        responses=RESPONSES,
        operation_class=forge_events_operation(),
        summary="Make a tool; the forge's events as server-sent events",
    )
    async def create_tool(self, data: JSONBody[NewTool], state: State) -> Stream:
        engine = _forge_engine(state)
        return await forge_stream(lambda: forge_new(
            data.description, state.config, engine=engine, name=data.name, recipe=data.recipe, generate=data.generate
        ))

    @post(
        "/{name:str}/edit",
        status_code=200,
        responses=RESPONSES,
        operation_class=forge_events_operation(),
        summary="Change a tool; the forge's events as server-sent events",
    )
    async def edit_tool(self, name: FromPath[str], data: JSONBody[EditTool], state: State) -> Stream:
        _library_with(name)
        engine = _forge_engine(state)
        return await forge_stream(lambda: forge_edit(name, data.change, state.config, engine=engine))

    @post(
        "/{name:str}/run",
        status_code=200,
        responses=RESPONSES,
        summary="Run a tool in the sandbox and preview its file changes",
        sync_to_thread=True,
    )
    def run_tool(self, name: FromPath[str], data: JSONBody[RunRequest], state: State) -> ToolRun:
        tool = _serving(state, _library_with(name), name)
        cwd = Path(data.cwd)
        if not cwd.is_absolute() or not cwd.is_dir():
            raise ApiError(400, f"cwd {data.cwd!r} must be an existing folder given as an absolute path", "cwd")
        try:
            return run_service.preview(tool, list(data.args), cwd, state.config.sandbox, data.allow_degraded,
                                       allow_network=data.allow_network, hint='send "allow_network": true')
        except run_service.NotApproved as e:
            raise ApiError(403, str(e), "allow_network" if tool.manifest.network and not data.allow_network else "args") from None


class RunsController(Controller):
    path = "/api/runs"
    tags = ["Runs"]

    @get("/", responses=RESPONSES, summary="Runs, newest first", sync_to_thread=True)
    def list_runs(self, limit: FromQuery[int] = 50) -> list[RunSummary]:
        return run_service.list_runs(max(limit, 0))

    @get("/{run_id:str}", responses=RESPONSES, summary="A run: output and plan", sync_to_thread=True)
    def show_run(self, run_id: FromPath[str]) -> ToolRun:
        return _existing_run(run_id, run_service.get)

    @post(
        "/{run_id:str}/apply",
        status_code=200,
        responses=RESPONSES,
        summary="Apply a previewed run's changes to the real files",
        sync_to_thread=True,
    )
    def apply_run(self, run_id: FromPath[str]) -> ToolRun:
        return _existing_run(run_id, run_service.apply)

    @post(
        "/{run_id:str}/undo",
        status_code=200,
        responses=RESPONSES,
        summary="Put the files back as they were before an applied run",
        sync_to_thread=True,
    )
    def undo_run(self, run_id: FromPath[str]) -> ToolRun:
        return _existing_run(run_id, run_service.undo)


class CatalogController(Controller):
    path = "/api"
    tags = ["Catalog"]

    @get("/recipes", responses=RESPONSES, summary="Built-in recipes, or the best matches for q", sync_to_thread=True)
    def list_recipes(self, q: FromQuery[str | None] = None, limit: FromQuery[int] = 5) -> list[RecipeView]:
        catalog = recipes()
        if not q or not q.strip():
            return [RecipeView(name=r.name, description=r.manifest.description) for r in catalog.values()]
        matches = search(q, limit=min(max(limit, 1), RECIPE_LIMIT))
        return [
            RecipeView(name=m.recipe_name, description=catalog[m.recipe_name].manifest.description, score=round(m.score, 4))
            for m in matches
        ]

    @get("/plugins", responses=RESPONSES, summary="Loaded plugins and the hooks they implement", sync_to_thread=True)
    def list_plugins(self) -> list[PluginView]:
        return msgspec.convert(describe_plugins(), list[PluginView])


# -- helpers


def _summary(m: Manifest) -> ToolSummary:
    return ToolSummary(
        name=m.name, description=m.description, language=m.language, origin=m.origin, updated=m.updated, parameters=m.parameters
    )


def _library_with(name: str) -> Library:
    library = Library()
    if not library.exists(check_name(name)):
        raise ApiError(404, f"no tool named {name!r} (GET /api/tools lists them)", "name")
    return library


def _serving(state: State, library: Library, name: str):
    """The tool as served: with reloading on, its last version that passed the checks."""
    if state.reloader is None:
        return library.load(name)
    try:
        return state.reloader.tool(name)
    except ToolUnavailable as e:
        raise ApiError(409, str(e), "name") from None


def _existing_run(run_id: str, action):
    """`action(run_id)`; an unknown run is 404, one in the wrong state 409."""
    try:
        run_service.get(run_id)
    except RunError as e:
        raise ApiError(404, str(e), "run_id") from None
    try:
        return action(run_id)
    except RunError as e:
        raise ApiError(409, str(e), "run_id") from None


def _forge_engine(state: State):
    """The served engine; None (recipes only) when the server runs without a model."""
    return state.slot.ready() if state.slot.configured else None


_END = object()


async def forge_stream(start):
    """Run a forge job in a worker thread and stream its events as SSE.

    The forge is synchronous (it blocks on checks and sandboxed smoke runs), so it
    gets its own thread. The first event is awaited before answering, so bad
    input is a 400; when the client leaves, the job stops at its next event.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()
    stop = threading.Event()

    def put(item) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:  # the server's loop is gone
            stop.set()

    def pump() -> None:
        events = None
        try:
            events = start()
            for event in events:
                put(event)
                if stop.is_set():
                    break
        except Exception as e:  # handed to the event loop: a 400 before streaming, an error event after
            put(e)
        finally:
            if events is not None:
                events.close()  # closes the engine stream too, aborting its request
            put(_END)

    threading.Thread(target=pump, name="toolsmith-forge", daemon=True).start()
    first = await queue.get()
    if isinstance(first, Exception):
        stop.set()
        raise first

    async def frames():
        item = first
        try:
            while item is not _END:
                if isinstance(item, USER_ERRORS):
                    yield frame(ev.Error(message=str(item)))
                elif isinstance(item, Exception):
                    yield frame(ev.Error(message=f"internal error: {type(item).__name__}: {item}"))
                else:
                    yield frame(item)
                item = await queue.get()
        finally:
            stop.set()

    return event_stream(frames())
