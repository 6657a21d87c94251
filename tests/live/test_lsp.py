"""`toolsmith lsp` driven by a real LSP client over stdio: diagnostics, hover, code actions."""

import asyncio
import contextlib
import os
import sys
from pathlib import Path
from typing import Union

import pytest
from lsprotocol import types
from pygls.uris import from_fs_path
from pytest_lsp import LanguageClient, make_test_lsp_client

from toolsmith.core.base.manifest import Manifest, Parameter, Trigger
from toolsmith.core.frontends.lsp import KEY_HELP, NEEDS_MODEL, locate
from toolsmith.core.tools.library import Library
from toolsmith.core.tools.run_service import runs_folder
from toolsmith.sandbox import run_store as runs

from .conftest import INDEX_TOOL, save_tool

BROKEN = INDEX_TOOL.replace("def main(argv=None):", "def main(argv=None)")


def read_code_actions_correctly(client: LanguageClient) -> None:
    """lsprotocol 2025.0.0's client side reads any action with a "command" key as a Command,
    although a CodeAction's "command" is an object and a Command's a string; editors get it right."""
    converter = client.protocol._converter

    def structure(obj, _):
        return converter.structure(obj, types.Command if isinstance(obj.get("command"), str) else types.CodeAction)

    converter.register_structure_hook(Union[types.Command, types.CodeAction], structure)


@contextlib.asynccontextmanager
async def lsp_session(root):
    client: LanguageClient = make_test_lsp_client()
    read_code_actions_correctly(client)
    await client.start_io(sys.executable, "-m", "toolsmith.core.frontends.cli", "lsp", env=dict(os.environ))
    await client.initialize_session(
        types.InitializeParams(
            capabilities=types.ClientCapabilities(workspace=types.WorkspaceClientCapabilities(apply_edit=True)),
            root_uri=from_fs_path(str(root)),
        )
    )
    try:
        yield client
    finally:
        await client.shutdown_session()


async def diagnostics(client: LanguageClient, uri: str, want) -> list[types.Diagnostic]:
    """Wait until the diagnostics published for `uri` satisfy `want`."""
    async with asyncio.timeout(60):
        while uri not in client.diagnostics or not want(client.diagnostics[uri]):
            await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    return list(client.diagnostics[uri])


def open_doc(client: LanguageClient, path, text: str, language: str) -> str:
    uri = from_fs_path(str(path))
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(uri=uri, language_id=language, version=1, text=text)))
    return uri


def replace(client: LanguageClient, uri: str, version: int, start, end, text: str) -> None:
    """An incremental edit, as editors send while you type."""
    change = types.TextDocumentContentChangePartial(range=types.Range(types.Position(*start), types.Position(*end)), text=text)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version), content_changes=[change])
    )


def test_diagnostics_appear_for_a_broken_tool_and_clear_when_fixed():
    save_tool("index", BROKEN)
    tool = Library().load("index")

    async def scenario():
        async with lsp_session(tool.path) as client:
            uri = open_doc(client, tool.source_path, BROKEN, "python")
            found = await diagnostics(client, uri, bool)
            assert [(d.code, d.range.start.line, d.severity) for d in found] == [("syntax", 4, types.DiagnosticSeverity.Error)]

            line = BROKEN.splitlines()[4]
            replace(client, uri, 2, (4, len(line)), (4, len(line)), ":")  # type the missing colon
            assert await diagnostics(client, uri, lambda d: not d) == []

            line = "    os.system('ls')"
            replace(client, uri, 3, (9, 0), (9, 0), f"{line}\n")
            found = await diagnostics(client, uri, bool)
            assert [(d.code, d.range.start.line, d.range.start.character, d.range.end.character) for d in found] == [
                ("forbidden-call", 9, 4, 4 + len("os.system")),
                ("F821", 9, 4, 4 + len("os")),  # ruff: `os` is never imported
            ]

    asyncio.run(scenario())


def test_manifest_errors_point_at_the_key_and_clear_when_fixed():
    save_tool("index")
    tool = Library().load("index")
    good = (tool.path / "tool.toml").read_text()
    bad = good.replace('kind = "dir"', 'kind = "folder"')
    bad_line = bad.splitlines().index('kind = "folder"')

    async def scenario():
        async with lsp_session(tool.path) as client:
            uri = open_doc(client, tool.path / "tool.toml", bad, "toml")
            found = await diagnostics(client, uri, bool)
            assert [(d.range.start.line, d.message) for d in found] == [(bad_line, "Invalid enum value 'folder' - at `$.parameters[0].kind`")]

            replace(client, uri, 2, (bad_line, 0), (bad_line, len('kind = "folder"')), 'kind = "dir"')
            assert await diagnostics(client, uri, lambda d: not d) == []

            typo = good + "\n[trigger]\nauto_aply = true\n"
            replace(client, uri, 3, (0, 0), (len(good.splitlines()) + 1, 0), typo)
            found = await diagnostics(client, uri, bool)
            assert [(d.range.start.line, d.message) for d in found] == [
                (len(typo.splitlines()) - 1, "unknown key `auto_aply` - at `$.trigger` (check its spelling)")
            ]

    asyncio.run(scenario())


def test_hover_explains_manifest_keys_by_section():
    save_tool("index", trigger=Trigger(path="~/in"))
    tool = Library().load("index")
    text = (tool.path / "tool.toml").read_text()
    lines = text.splitlines()

    async def hover(client, uri, line):
        result = await client.text_document_hover_async(
            types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line, 1))
        )
        return result.contents.value if result else None

    async def scenario():
        async with lsp_session(tool.path) as client:
            uri = open_doc(client, tool.path / "tool.toml", text, "toml")
            assert await hover(client, uri, lines.index('name = "index"')) == KEY_HELP[""]["name"]
            assert await hover(client, uri, lines.index('name = "folder"')) == KEY_HELP["parameters"]["name"]
            assert await hover(client, uri, lines.index('path = "~/in"')) == KEY_HELP["trigger"]["path"]
            assert await hover(client, uri, lines.index("[trigger]")) == KEY_HELP[""]["trigger"]

    asyncio.run(scenario())


def test_every_manifest_key_has_hover_help():
    for section, struct in (("", Manifest), ("parameters", Parameter), ("trigger", Trigger)):
        assert set(KEY_HELP[section]) == set(struct.__struct_fields__), section


def test_code_actions_are_offered_and_preview_run_makes_a_plan(inbox):
    save_tool("index", trigger=Trigger(path=str(inbox)))
    (inbox / "a.txt").write_text("a\n")
    tool = Library().load("index")

    async def scenario():
        async with lsp_session(tool.path) as client:
            uri = open_doc(client, tool.source_path, tool.source, "python")
            actions = await client.text_document_code_action_async(
                types.CodeActionParams(
                    text_document=types.TextDocumentIdentifier(uri=uri),
                    range=types.Range(types.Position(0, 0), types.Position(0, 0)),
                    context=types.CodeActionContext(diagnostics=[]),
                )
            )
            assert [a.title for a in actions] == ["Preview run", "Edit tool by description…", "Regenerate from description"]
            preview = actions[0].command
            result = await client.workspace_execute_command_async(types.ExecuteCommandParams(command=preview.command, arguments=preview.arguments))
            return result, client.messages

    result, messages = asyncio.run(scenario())
    plan = result["plan"]
    changes = [(c["kind"], c["path"], c["root"]) for c in plan["changes"]]
    assert (result["ok"], plan["exit_code"], plan["summary"], changes) == (True, 0, "1 created", [("created", "INDEX", str(inbox))])
    assert messages[-1].message == f"Preview of index: 1 created (run {plan['run_id']}); apply with `toolsmith runs apply {plan['run_id']}`"
    assert not (inbox / "INDEX").exists()  # only previewed
    runs.apply(runs_folder(), plan["run_id"])
    assert (inbox / "INDEX").read_text() == "a.txt\n"


def test_model_actions_without_a_model_say_so():
    save_tool("index")
    tool = Library().load("index")
    source = "# also list the .md files\n" + tool.source

    async def scenario():
        async with lsp_session(tool.path) as client:
            uri = open_doc(client, tool.source_path, source, "python")
            actions = await client.text_document_code_action_async(
                types.CodeActionParams(
                    text_document=types.TextDocumentIdentifier(uri=uri),
                    range=types.Range(types.Position(0, 3), types.Position(0, 3)),
                    context=types.CodeActionContext(diagnostics=[]),
                )
            )
            results = []
            for action in actions[1:]:
                assert action.command.arguments[0] == uri
                results.append(await client.workspace_execute_command_async(types.ExecuteCommandParams(command=action.command.command, arguments=action.command.arguments)))
            return actions[1].command.arguments, results, [m.message for m in client.messages]

    edit_arguments, results, messages = asyncio.run(scenario())
    assert edit_arguments[1] == "also list the .md files"  # the comment on the cursor's line is the change
    expected = [NEEDS_MODEL.format(what="Edit tool by description…"), NEEDS_MODEL.format(what="Regenerate from description")]
    assert results == [{"ok": False, "message": m} for m in expected]
    assert messages == expected
    assert "toolsmith models add PATH" in expected[0]
    assert Library().load("index").source == INDEX_TOOL


SCRIPTED_ENGINE_PLUGIN = '''
import sys
from pathlib import Path

sys.path.insert(0, {forge_tests!r})
from scripted_engine import ScriptedEngine

from toolsmith.core import hookimpl
from toolsmith.core.inference.backends import Backend

REPLY = {reply!r}


@hookimpl
def toolsmith_register_engines(register):
    register(Backend(name="scripted", description="replies written by the test", create=lambda **options: ScriptedEngine([REPLY])))
'''


def test_edit_by_description_with_a_model_saves_a_version_and_updates_the_buffer(monkeypatch, toolsmith_home):
    """The model is a scripted double (no weights here); the forge, checks, smoke run and save are real."""
    save_tool("index")
    tool = Library().load("index")
    edited = INDEX_TOOL.replace('"*.txt"', '"*.md"')
    manifest = 'name = "index"\ndescription = "list the markdown files of a folder in INDEX"\n\n[[parameters]]\n'
    manifest += 'name = "folder"\nkind = "dir"\naccess = "write"\npositional = true\nrequired = true\n'
    reply = f"Here it is.\n\n```toml\n{manifest}```\n\n```python\n{edited}```\n"
    plugins = toolsmith_home / "config" / "plugins"
    plugins.mkdir(parents=True)
    forge_tests = str(Path(__file__).parents[1] / "forge")
    (plugins / "scripted.py").write_text(SCRIPTED_ENGINE_PLUGIN.format(forge_tests=forge_tests, reply=reply))
    monkeypatch.setenv("TOOLSMITH_ENGINE__BACKEND", "scripted")
    monkeypatch.setenv("TOOLSMITH_ENGINE__URL", "http://scripted.invalid")  # "a model is configured"
    source = "# index the markdown files instead\n" + tool.source
    edits = []

    async def scenario():
        async with lsp_session(tool.path) as client:

            @client.feature(types.WORKSPACE_APPLY_EDIT)
            def apply_edit(params: types.ApplyWorkspaceEditParams):
                edits.append(params.edit)
                return types.ApplyWorkspaceEditResult(applied=True)

            uri = open_doc(client, tool.source_path, source, "python")
            selection = types.Range(types.Position(0, 2), types.Position(0, len(source.splitlines()[0])))
            actions = await client.text_document_code_action_async(
                types.CodeActionParams(text_document=types.TextDocumentIdentifier(uri=uri), range=selection, context=types.CodeActionContext(diagnostics=[]))
            )
            edit = next(a for a in actions if a.title == "Edit tool by description…").command
            assert list(edit.arguments) == [uri, "index the markdown files instead"]
            return uri, await client.workspace_execute_command_async(types.ExecuteCommandParams(command=edit.command, arguments=edit.arguments))

    uri, result = asyncio.run(scenario())
    assert result == {"ok": True, "message": "Edit tool by description…: saved index version 2"}
    assert Library().load("index").source == edited
    assert [e.changes[uri][0].new_text for e in edits] == [edited]


LOCATED = """name = "sort"
description = "Sort"
created = 2026-11-26T09:00:00Z
updated = 2026-11-26T09:00:00Z

[[parameters]]
name = "inbox"
kind = "dir"

[[parameters]]
name = "size"
kind = "int"
colour = 1

[trigger]
patern = ["*.jpg"]
"""


@pytest.mark.parametrize(
    "message, where",
    [
        ("Expected `str`, got `int` - at `$.description`", (1, 0)),
        ("parameter 'inbox' of kind 'dir' needs access - at `$.parameters[0]`", (5, 0)),
        ("Invalid enum value 'int' - at `$.parameters[1].kind`", (11, 0)),
        ("unknown key `colour` - at `$.parameters[1]` (check its spelling)", (12, 0)),
        ("unknown key `patern` - at `$.trigger` (check its spelling)", (15, 0)),
        ("not valid TOML: Invalid value (at line 3, column 10)", (2, 9)),
    ],
)
def test_manifest_errors_are_placed_on_their_key(message, where):
    assert locate(LOCATED, message) == where
