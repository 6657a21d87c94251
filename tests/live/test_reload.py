"""Plugins and tools reload when their files change; a broken edit keeps the last good version."""

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys

import pytest

from toolsmith.core.base import paths
from toolsmith.core.base.manifest import Trigger
from toolsmith.core.base.plugin_host import load_plugins, pm
from toolsmith.core.frontends.live.reload import Failed, Loaded, Reloader, ToolUnavailable, Unloaded, Watching
from toolsmith.core.tools import retrieval
from toolsmith.core.tools.checks import check_source
from toolsmith.core.tools.library import Library

from .conftest import INDEX_TOOL, save_tool

TOOL = "def main():\n    pass\n\n\nif __name__ == '__main__':\n    main()\n"


def plugin_source(rule: str) -> str:
    """A plugin that flags every tool with one warning named `rule`."""
    return (
        "from toolsmith.core import hookimpl\n"
        "from toolsmith.core.base.diagnostics import Diagnostic\n\n\n"
        "@hookimpl\n"
        "def toolsmith_check_source(source):\n"
        f"    return [Diagnostic(rule={rule!r}, message='from the plugin', line=1, column=1, severity='warning')]\n"
    )


def plugin_rules() -> list[str]:
    return [d.rule for d in check_source(TOOL, None, "python") if d.rule.startswith("probe/")]


@contextlib.asynccontextmanager
async def reloading(quiet_ms: int = 50):
    """A running Reloader and a function that waits for its next event."""
    events: asyncio.Queue = asyncio.Queue()
    reloader = Reloader(events.put_nowait, quiet_ms=quiet_ms)
    reloader.load_all()
    stop = asyncio.Event()
    task = asyncio.create_task(reloader.run(stop))

    async def next_event():
        return await asyncio.wait_for(events.get(), 30)

    assert isinstance(await next_event(), Watching)

    try:
        yield reloader, next_event
    finally:
        stop.set()
        await task


@pytest.fixture
def clean_plugin_manager():
    """Plugins registered from files in one test must not leak into the next."""
    load_plugins()
    before = set(pm.get_plugins())
    yield
    for plugin in set(pm.get_plugins()) - before:
        pm.unregister(plugin)


def test_plugin_edits_reload_and_broken_edits_keep_the_last_good_version(clean_plugin_manager):
    plugin = paths.plugins_dir() / "probe.py"

    async def scenario():
        async with reloading() as (_, next_event):
            plugin.write_text(plugin_source("probe/v1"))
            assert await next_event() == Loaded(kind="plugin", name="probe")
            assert plugin_rules() == ["probe/v1"]

            plugin.write_text(plugin_source("probe/v2"))
            assert await next_event() == Loaded(kind="plugin", name="probe")
            assert plugin_rules() == ["probe/v2"]

            plugin.write_text(plugin_source("probe/v3").replace("def toolsmith_check_source(source):", "def toolsmith_check_source(source)"))
            event = await next_event()
            assert isinstance(event, Failed) and event.kept and "SyntaxError" in event.message and "probe.py" in event.message
            assert plugin_rules() == ["probe/v2"]

            plugin.write_text(plugin_source("probe/v4").replace("toolsmith_check_source", "toolsmith_check_sorce"))
            event = await next_event()
            assert isinstance(event, Failed) and event.kept and "toolsmith_check_sorce" in event.message
            assert plugin_rules() == ["probe/v2"]

            plugin.write_text(plugin_source("probe/v5").replace("(source)", "(source, colour)"))
            event = await next_event()
            assert isinstance(event, Failed) and event.kept and "colour" in event.message
            assert plugin_rules() == ["probe/v2"]

            plugin.unlink()
            assert await next_event() == Unloaded(kind="plugin", name="probe")
            assert plugin_rules() == []

    paths.plugins_dir().mkdir(parents=True)
    asyncio.run(scenario())


RECIPE_PLUGIN = """
from toolsmith.core import hookimpl
from toolsmith.core.base.manifest import Manifest, now
from toolsmith.core.tools.recipes import Recipe

SOURCE = "def main():\\n    print('water the plants')\\n\\n\\nif __name__ == '__main__':\\n    main()\\n"


@hookimpl
def toolsmith_register_recipes(register):
    manifest = Manifest(name="plant-reminder", description="Remind me to water the plants", created=now(), updated=now())
    register(Recipe(manifest=manifest, source=SOURCE, phrasings=[{phrasing!r}]))
"""


def test_a_recipe_plugin_edit_reaches_recipe_search(clean_plugin_manager):
    plugin = paths.plugins_dir() / "plants.py"

    def best(query):
        return retrieval.search(query, limit=1)[0].recipe_name

    async def scenario():
        async with reloading() as (_, next_event):
            assert best("water the office ferns") != "plant-reminder"
            plugin.write_text(RECIPE_PLUGIN.format(phrasing="water the office ferns every friday"))
            assert await next_event() == Loaded(kind="plugin", name="plants")
            assert best("water the office ferns") == "plant-reminder"

            plugin.unlink()
            assert await next_event() == Unloaded(kind="plugin", name="plants")
            assert best("water the office ferns") != "plant-reminder"

    paths.plugins_dir().mkdir(parents=True)
    asyncio.run(scenario())


def test_tool_edits_reload_and_broken_edits_keep_the_last_good_version(inbox):
    save_tool("index")
    source = Library().load("index").source_path

    async def scenario():
        async with reloading() as (reloader, next_event):
            assert reloader.tool("index").source == INDEX_TOOL

            edited = INDEX_TOOL.replace("*.txt", "*.md")
            source.write_text(edited)
            assert await next_event() == Loaded(kind="tool", name="index")
            assert reloader.tool("index").source == edited

            source.write_text(edited.replace("def main(argv=None):", "def main(argv=None)"))
            event = await next_event()
            assert isinstance(event, Failed) and event.kept and "tool.py:5:" in event.message
            assert reloader.tool("index").source == edited

            manifest = source.parent / "tool.toml"
            manifest.write_text(manifest.read_text().replace('kind = "dir"', 'kind = "folder"'))
            event = await next_event()
            assert isinstance(event, Failed) and event.kept and "kind" in event.message
            assert reloader.tool("index").source == edited

            Library().remove("index")
            assert await next_event() == Unloaded(kind="tool", name="index")
            with pytest.raises(ToolUnavailable, match="'index'"):
                reloader.tool("index")

    asyncio.run(scenario())


def test_a_new_tool_is_picked_up_and_stray_files_are_ignored():
    async def scenario():
        async with reloading() as (reloader, next_event):
            (Library().root / "My Notes.txt").write_text("not a tool")
            save_tool("index")
            assert await next_event() == Loaded(kind="tool", name="index")
            assert reloader.tool("index").manifest.name == "index"

    asyncio.run(scenario())


def test_dev_reports_reloads_and_runs_triggers_until_interrupted(inbox, toolsmith_home):
    save_tool("index", trigger=Trigger(path=str(inbox), debounce_ms=100, auto_apply=True))
    env = {**os.environ, "TOOLSMITH_HOME": str(toolsmith_home)}
    process = subprocess.Popen(
        [sys.executable, "-m", "toolsmith.core.frontends.cli", "dev", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        started = {json.loads(process.stdout.readline())["type"] for _ in range(2)}
        assert started == {"watching", "watching_for_edits"}  # the trigger's folder, and the library and plugins

        (paths.plugins_dir() / "probe.py").write_text(plugin_source("probe/v1").replace("(source)", "(source"))
        failed = json.loads(process.stdout.readline())
        assert (failed["type"], failed["name"], failed["kept"]) == ("failed", "probe", False)

        (inbox / "a.txt").write_text("a\n")
        assert [json.loads(process.stdout.readline())["type"] for _ in range(3)] == ["changed", "previewed", "applied"]
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=60)
    assert process.returncode == 0
    assert (inbox / "INDEX").read_text() == "a.txt\n"
