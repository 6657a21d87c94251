"""`toolsmith lsp`: a language server for tool folders (pygls, over stdio).

One server for Neovim, Helix, Zed and VS Code. It looks after two kinds of files:
a tool's source (a language's source file such as `tool.py`, or any file beside
a `tool.toml`) and the manifest `tool.toml` itself. It offers:

- diagnostics as you type: the same checks `toolsmith check` runs (language
  checks plus every plugin's), and the strict manifest decoder for `tool.toml`;
- hover help on manifest keys;
- code actions: "Preview run" (runs the saved tool in the sandbox and reports
  the plan; nothing changes until `toolsmith runs apply`), "Edit tool by
  description…" (the selected text, or the comment on the cursor's line, is the
  change) and "Regenerate from description". The last two need a model and
  say so when none is configured.

Checks re-parse the source with tree-sitter on each (debounced) change rather
than incrementally: the language checks own their parse, and on tool-sized
sources a whole check takes about a millisecond (benchmarks/live.py), far below
the typing pause the server waits for anyway.
"""

import asyncio
import functools
import importlib.metadata
import re
from pathlib import Path

import msgspec
from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from ..base import config as config_module
from ..base import manifest as manifest_module
from ..base.diagnostics import Diagnostic
from ..base.errors import ToolsmithError
from ..base.manifest import MANIFEST_FILE, Manifest
from ..base.terminal import safe
from ..tools.checks import check_source
from ..tools.languages import get_language, language_for_file, languages
from ..tools.library import Library, Tool
from ..tools.run_report import report
from .errors import USER_ERRORS

CHECK_DELAY = 0.15  # seconds of quiet typing before a check runs

PREVIEW, EDIT, REGENERATE = "toolsmith.previewRun", "toolsmith.editTool", "toolsmith.regenerate"

NEEDS_MODEL = (
    "{what} needs a model, and none is configured: add one with `toolsmith models add PATH` "
    "(or set engine.url in `toolsmith config`), then try again"
)

# Hover help for every manifest key, by section ("" is the top level).
KEY_HELP = {
    "": {
        "name": "The tool's name: lowercase letters, digits, `-` and `_`; it is also the folder's name.",
        "description": "What the tool does, in plain words. The forge regenerates the tool from it.",
        "language": "The language the source is written in (`python`, `bash`, or one a plugin adds).",
        "parameters": "The tool's inputs, one `[[parameters]]` table each.",
        "requires": "Modules the tool imports beyond the standard library, e.g. `[\"PIL\"]`.",
        "network": "Whether the tool may use the network in the sandbox (default false).",
        "origin": "Where the tool came from: `recipe`, `model` or `hand`.",
        "created": "When the tool was first saved (UTC).",
        "updated": "When this version was saved (UTC).",
        "trigger": "Run the tool whenever files appear or change in a folder (`toolsmith watch NAME`).",
    },
    "parameters": {
        "name": "The parameter's name: the option `--name` (or `-n` for one letter), or a positional's name.",
        "kind": "`path`, `dir`, `file`, `string`, `int` or `flag`. Path kinds are what the sandbox lets the tool touch.",
        "help": "One line shown by `toolsmith run NAME --help`.",
        "access": "For path kinds: `read` or `write`. The sandbox allows exactly that on the path given.",
        "positional": "Given by position rather than as an option.",
        "required": "The tool cannot run without it.",
        "multiple": "May be given more than once (a list).",
        "default": "The value used when the parameter is not given; passed explicitly so the plan shows it.",
    },
    "trigger": {
        "path": "The folder to watch, absolute or starting with `~`; `toolsmith watch NAME PATH` overrides it.",
        "parameter": "The path or dir parameter that receives the folder; default: the first positional one.",
        "args": "The tool's other arguments for every run, as on the command line.",
        "patterns": "File-name globs that start a run, e.g. `[\"*.jpg\"]`; empty: any file.",
        "debounce_ms": "Quiet time in milliseconds after the last change before a run; a burst of files is one run.",
        "auto_apply": "Apply each run without asking (default false: runs are previewed and wait for you).",
    },
}

server = LanguageServer("toolsmith", importlib.metadata.version("toolsmith"))
_pending: dict[str, asyncio.Task] = {}


# -- which files are ours -------------------------------------------------------


def _path(uri: str) -> Path:
    return Path(to_fs_path(uri))


def is_manifest(path: Path) -> bool:
    return path.name == MANIFEST_FILE


def is_tool_source(path: Path) -> bool:
    """A language's source file name, or any file beside a tool.toml."""
    if is_manifest(path):
        return False
    return path.name in {language.source_file for language in languages().values()} or (path.parent / MANIFEST_FILE).is_file()


def _text(ls: LanguageServer, path: Path) -> str | None:
    """The open buffer's text when the editor has the file open, else the file's."""
    doc = ls.workspace.text_documents.get(from_fs_path(str(path)))
    if doc is not None:
        return doc.source
    try:
        return path.read_text(encoding="utf-8")
    except (FileNotFoundError, UnicodeDecodeError):
        return None


# -- diagnostics ------------------------------------------------------------------


def manifest_problems(text: str) -> list[tuple[int, int, str]]:
    """(0-based line, 0-based column, message) of what makes a manifest unusable."""
    try:
        manifest_module.decode(text.encode(), MANIFEST_FILE)
    except manifest_module.ManifestError as e:
        message = str(e).removeprefix(f"{MANIFEST_FILE}: ")
        line, column = locate(text, message)
        return [(line, column, message)]
    return []


def locate(text: str, message: str) -> tuple[int, int]:
    """Where a decoder message points in the TOML text (0-based): its line and column, or the key its `$.path` names.

    Manifests nest at most one table deep (`$.trigger.path`, `$.parameters[1].kind`).
    """
    if m := re.search(r"at line (\d+), column (\d+)", message):
        return int(m[1]) - 1, int(m[2]) - 1
    lines = text.splitlines()
    path = re.search(r"at `\$([^`]*)`", message)
    steps = re.findall(r"\.([\w-]+)|\[(\d+)\]", path[1]) if path else []
    unknown = re.search(r"unknown key `([^`]+)`", message)
    key = unknown[1] if unknown else (steps.pop()[0] if steps and steps[-1][0] else None)
    start = 0
    if steps:  # what is left names a table: `trigger`, or `parameters` and an index
        table, index = steps[0][0], int(steps[1][1]) if len(steps) > 1 else 0
        headers = [n for n, line in enumerate(lines) if line.strip() in (f"[{table}]", f"[[{table}]]")]
        start = headers[index] if index < len(headers) else 0
    for n in range(start, len(lines)) if key else ():
        if re.match(rf"\s*{re.escape(key)}\s*=", lines[n]):
            return n, len(lines[n]) - len(lines[n].lstrip())
    return start, 0


@functools.cache
def _config():
    """The config, read once per server (restart the server after changing it)."""
    return config_module.load()


def source_diagnostics(ls: LanguageServer, path: Path, text: str) -> list[Diagnostic]:
    """The checks `toolsmith check` runs, with the manifest beside the file when it is valid."""
    manifest = _sibling_manifest(ls, path)
    language = manifest.language if manifest else language_for_file(path).name
    return check_source(text, manifest, language, _config().checks)


def _sibling_manifest(ls: LanguageServer, path: Path) -> Manifest | None:
    text = _text(ls, path.parent / MANIFEST_FILE)
    if text is None:
        return None
    try:
        return manifest_module.decode(text.encode())
    except manifest_module.ManifestError:
        return None  # reported on tool.toml itself


def _to_lsp(doc, d: Diagnostic) -> types.Diagnostic:
    """A checker diagnostic (1-based, character columns) in the client's position units."""
    end = (d.end_line, d.end_column) if d.end_line and d.end_column else (d.line, d.column + 1)
    server_range = types.Range(types.Position(d.line - 1, d.column - 1), types.Position(end[0] - 1, end[1] - 1))
    return types.Diagnostic(
        range=doc.range_to_client_units(server_range),
        message=d.message,
        severity=types.DiagnosticSeverity.Error if d.severity == "error" else types.DiagnosticSeverity.Warning,
        code=d.rule,
        source="toolsmith",
    )


def publish(ls: LanguageServer, uri: str) -> None:
    doc = ls.workspace.text_documents.get(uri)
    if doc is None:
        return
    path = _path(uri)
    if is_manifest(path):
        found = [_line_diagnostic(doc, line, column, message) for line, column, message in manifest_problems(doc.source)]
    else:
        try:
            found = [_to_lsp(doc, d) for d in source_diagnostics(ls, path, doc.source)]
        except ToolsmithError as e:  # a broken config or an unknown language: say so on line 1
            found = [_line_diagnostic(doc, 0, 0, str(e))]
    ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=found, version=doc.version))


def _line_diagnostic(doc, line: int, column: int, message: str) -> types.Diagnostic:
    """An error from `column` to the end of `line` (0-based)."""
    text = (doc.lines[line : line + 1] or [""])[0].rstrip("\r\n")
    end = types.Position(line, max(column + 1, len(text)))
    return types.Diagnostic(
        range=types.Range(types.Position(line, column), end),
        message=message,
        severity=types.DiagnosticSeverity.Error,
        code="manifest",
        source="toolsmith",
    )


def _ours(uri: str) -> bool:
    path = _path(uri)
    return is_manifest(path) or is_tool_source(path)


def _check_soon(ls: LanguageServer, uri: str) -> None:
    """Check after a short quiet spell, so fast typing costs one check, not one per key."""
    if (task := _pending.pop(uri, None)) is not None:
        task.cancel()

    async def later():
        await asyncio.sleep(CHECK_DELAY)
        _pending.pop(uri, None)
        publish(ls, uri)
        if is_manifest(_path(uri)):  # the source's checks read the manifest
            for other in list(ls.workspace.text_documents):
                if other != uri and _path(other).parent == _path(uri).parent and _ours(other):
                    publish(ls, other)

    _pending[uri] = asyncio.ensure_future(later())


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: LanguageServer, params: types.DidOpenTextDocumentParams) -> None:
    if _ours(params.text_document.uri):
        publish(ls, params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: LanguageServer, params: types.DidChangeTextDocumentParams) -> None:
    if _ours(params.text_document.uri):
        _check_soon(ls, params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: LanguageServer, params: types.DidSaveTextDocumentParams) -> None:
    if _ours(params.text_document.uri):
        _check_soon(ls, params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: LanguageServer, params: types.DidCloseTextDocumentParams) -> None:
    if _ours(params.text_document.uri):
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=[]))


# -- hover ------------------------------------------------------------------------


def key_help(text: str, line: int, column: int) -> str | None:
    """Help for the manifest key under (0-based) line/column, knowing its section."""
    lines = text.splitlines()
    if line >= len(lines):
        return None
    current = lines[line]
    header = re.match(r"\s*\[\[?\s*([\w-]+)\s*\]\]?", current)
    if header and header.start(1) <= column <= header.end(1):
        return KEY_HELP[""].get(header[1])
    m = re.match(r"\s*([\w-]+)\s*=", current)
    if not m or not m.start(1) <= column <= m.end(1):
        return None
    section = ""
    for above in reversed(lines[:line]):
        if h := re.match(r"\s*\[\[?\s*([\w-]+)\s*\]\]?\s*$", above):
            section = h[1]
            break
    return KEY_HELP.get(section, {}).get(m[1])


@server.feature(types.TEXT_DOCUMENT_HOVER)
def hover(ls: LanguageServer, params: types.HoverParams) -> types.Hover | None:
    if not is_manifest(_path(params.text_document.uri)):
        return None
    doc = ls.workspace.get_text_document(params.text_document.uri)
    text = key_help(doc.source, params.position.line, params.position.character)
    return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text)) if text else None


# -- code actions -------------------------------------------------------------------


def described_change(doc, selection: types.Range) -> str:
    """The change to make: the selected text, else the comment on the cursor's line."""
    text = doc.source
    if selection.start != selection.end:
        lines = doc.lines[selection.start.line : selection.end.line + 1]
        chunk = "".join(lines)
        if len(lines) == 1:
            chunk = lines[0][selection.start.character : selection.end.character]
        text = chunk
    else:
        text = (doc.lines[selection.start.line : selection.start.line + 1] or [""])[0]
        if not re.match(r"\s*(#|//|--)", text):
            return ""
    return " ".join(re.sub(r"^\s*(#+|//|--)\s?", "", line) for line in text.splitlines()).strip()


@server.feature(
    types.TEXT_DOCUMENT_CODE_ACTION,
    types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.Source, types.CodeActionKind.RefactorRewrite]),
)
def code_actions(ls: LanguageServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    uri = params.text_document.uri
    if not _ours(uri):
        return []
    change = described_change(ls.workspace.get_text_document(uri), params.range)

    def action(title, kind, command, *arguments):
        return types.CodeAction(title=title, kind=kind, command=types.Command(title=title, command=command, arguments=[uri, *arguments]))

    return [
        action("Preview run", types.CodeActionKind.Source, PREVIEW),
        action("Edit tool by description…", types.CodeActionKind.RefactorRewrite, EDIT, change),
        action("Regenerate from description", types.CodeActionKind.RefactorRewrite, REGENERATE),
    ]


def _tool_at(uri: str) -> Tool:
    """The tool whose folder holds the file, as saved on disk."""
    folder = _path(uri).parent
    manifest_path = folder / MANIFEST_FILE
    if not manifest_path.is_file():
        raise ToolsmithError(f"{folder} has no {MANIFEST_FILE}; a tool is a folder with {MANIFEST_FILE} and its source")
    manifest = manifest_module.decode(manifest_path.read_bytes(), str(manifest_path))
    source_path = folder / get_language(manifest.language).source_file
    try:
        source = source_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ToolsmithError(f"{source_path} is missing") from None
    return Tool(manifest, source, folder)


def preview_args(tool: Tool) -> list[str]:
    """Arguments for a preview: the trigger's folder and arguments, else none (a path default is never used here: it needs the user's yes)."""
    from .live.watch import folder_of, tool_args

    trigger = tool.manifest.trigger
    if trigger is None or not trigger.path:
        return []
    return tool_args(tool, trigger, folder_of(trigger))


def preview(tool: Tool):
    """Run the tool in the sandbox with a preview; nothing outside the run's layers changes."""
    from ..tools import run_service
    from ..tools.invocation import ToolArgumentError

    try:
        return run_service.preview(tool, preview_args(tool), tool.path, _config().sandbox,
                                   hint="run it from a terminal with `toolsmith run`, which asks you")
    except ToolArgumentError as e:
        raise ToolArgumentError(f"{e}; give Preview run its arguments in tool.toml's [trigger] (path and args)") from None


def _tell(ls: LanguageServer, message: str, error: bool = False) -> dict:
    kind = types.MessageType.Error if error else types.MessageType.Info
    message = safe(message)  # names and errors may come from the tool
    ls.window_show_message(types.ShowMessageParams(type=kind, message=message))
    return {"ok": not error, "message": message}


@server.command(PREVIEW)
async def preview_run(ls: LanguageServer, uri: str) -> dict:
    try:
        tool = _tool_at(uri)
        run = await asyncio.to_thread(preview, tool)
    except USER_ERRORS as e:
        return _tell(ls, f"Preview run: {e}", error=True)
    plan = msgspec.to_builtins(run)
    if failure := run.failure(tool.manifest.name):
        return {**_tell(ls, f"Preview run: {failure}", error=True), "plan": plan}
    lines = [line for _, line in report(run, diff=False)]  # escaped, each change inside its grant
    ls.window_log_message(types.LogMessageParams(type=types.MessageType.Info, message="\n".join(lines)))
    message = f"Preview of {tool.manifest.name}: {run.summary} (run {run.run_id})"
    if run.changes:
        message += f"; apply with `toolsmith runs apply {run.run_id}`"
    return {**_tell(ls, message), "plan": plan}


@server.command(EDIT)
async def edit_tool(ls: LanguageServer, uri: str, change: str) -> dict:
    what = "Edit tool by description…"
    if missing := _model_missing(what):
        return _tell(ls, missing, error=True)
    if not change:
        return _tell(ls, f"{what}: select the change you want (or write it as a comment on the line), then choose the action again", error=True)
    return await _forge(ls, uri, what, change)


@server.command(REGENERATE)
async def regenerate(ls: LanguageServer, uri: str) -> dict:
    try:
        description = _tool_at(uri).manifest.description
    except ToolsmithError as e:
        return _tell(ls, f"Regenerate from description: {e}", error=True)
    return await _forge(ls, uri, "Regenerate from description", f"Rewrite the tool from scratch so that it does this: {description}")


def _model_missing(what: str) -> str | None:
    """Why `what` cannot use a model (the same rule as `open_engine`), without loading one."""
    from ..tools.model_registry import resolve_model

    try:
        config = _config()
        configured = resolve_model(config) is not None or bool(config.engine.url)
    except ToolsmithError as e:
        return f"{what}: {e}"
    return None if configured else NEEDS_MODEL.format(what=what)


async def _forge(ls: LanguageServer, uri: str, what: str, change: str) -> dict:
    """Change a library tool with the model, then show the new source in the editor."""
    from ..forge import events as ev
    from ..forge.pipeline import forge_edit
    from ..tools.model_registry import open_engine

    if missing := _model_missing(what):
        return _tell(ls, missing, error=True)
    folder, library = _path(uri).parent, Library()
    if folder.parent != library.root:
        return _tell(ls, f"{what}: {folder.name} is not in the tool library; import it first with `toolsmith import {folder}`", error=True)

    def run() -> list:
        config = _config()
        engine = open_engine(config)
        try:
            return list(forge_edit(folder.name, change, config, engine=engine, library=library))
        finally:
            engine.shutdown()

    try:
        events = await asyncio.to_thread(run)
    except ToolsmithError as e:
        return _tell(ls, f"{what}: {e}", error=True)
    last = events[-1] if events else None
    if not isinstance(last, ev.Saved):
        reason = last.message if isinstance(last, ev.Error) else "the model gave no usable tool"
        return _tell(ls, f"{what}: {reason}; the tool is unchanged", error=True)
    await _show_new_source(ls, library.load(last.name))
    return _tell(ls, f"{what}: saved {last.name} version {last.version}")


async def _show_new_source(ls: LanguageServer, tool: Tool) -> None:
    """Replace the open buffer of the tool's source with what was saved, so the editor shows it."""
    uri = from_fs_path(str(tool.source_path))
    doc = ls.workspace.text_documents.get(uri)
    workspace = ls.client_capabilities.workspace
    if doc is None or not (workspace and workspace.apply_edit):
        return  # the file on disk is new; the editor reloads it
    whole = types.Range(types.Position(0, 0), types.Position(len(doc.lines), 0))
    edit = types.WorkspaceEdit(changes={uri: [types.TextEdit(range=whole, new_text=tool.source)]})
    await ls.workspace_apply_edit_async(types.ApplyWorkspaceEditParams(edit=edit, label="toolsmith"))


def main() -> None:
    server.start_io()
