"""Triggers: real files landing in a real folder start sandboxed, journaled runs of a tool."""

import asyncio
import contextlib

import pytest

from toolsmith.core.base.manifest import Trigger
from toolsmith.core.frontends.live.watch import (
    Applied,
    Changed,
    NotApplied,
    Previewed,
    RunFailed,
    Watcher,
    WatchError,
    Watching,
    resolve_trigger,
)
from toolsmith.core.tools.library import Library
from toolsmith.core.tools.run_service import runs_folder
from toolsmith.sandbox import run_store as runs

from .conftest import save_tool

QUIET_MS = 100

# Fails (exit 3) while a file named bad.txt is in the folder; otherwise indexes it.
PICKY_TOOL = '''import argparse
import pathlib
import sys


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("folder")
    args = parser.parse_args(argv)
    folder = pathlib.Path(args.folder)
    if (folder / "bad.txt").exists():
        print("refusing: bad.txt is here", file=sys.stderr)
        sys.exit(3)
    (folder / "INDEX").write_text("".join(p.name + "\\n" for p in sorted(folder.glob("*.txt"))))


if __name__ == "__main__":
    main()
'''


@contextlib.asynccontextmanager
async def watching(name: str, folder, **options):
    """A running Watcher; yields a function that returns its next event."""
    events: asyncio.Queue = asyncio.Queue()
    confirm = options.pop("confirm", None)
    options.setdefault("debounce_ms", QUIET_MS)
    trigger = resolve_trigger(Library().load(name), str(folder), None, **options)
    stop = asyncio.Event()
    task = asyncio.create_task(Watcher(name, trigger, on_event=events.put_nowait, confirm=confirm).run(stop))

    async def next_event(timeout: float = 60):
        return await asyncio.wait_for(events.get(), timeout)

    try:
        assert isinstance(await next_event(), Watching)
        yield next_event
    finally:
        stop.set()
        await task


async def quiet(next_event, debounce_ms: int) -> None:
    """No further event for several debounce periods (our own apply must not start another run)."""
    with pytest.raises(asyncio.TimeoutError):
        print("unexpected:", await next_event(timeout=3 * debounce_ms / 1000))


def test_a_burst_of_50_files_is_one_run_and_its_own_writes_start_none(inbox):
    save_tool("index")

    async def scenario():
        # a realistic quiet time, so a busy CI machine pausing mid-burst does not split it
        async with watching("index", inbox, auto_apply=True, debounce_ms=400) as next_event:
            for i in range(50):
                (inbox / f"note-{i:02d}.txt").write_text(f"note {i}\n")
            changed = await next_event()
            assert isinstance(changed, Changed) and len(changed.files) == 50
            previewed = await next_event()
            assert isinstance(previewed, Previewed) and previewed.summary == "1 created"
            assert await next_event() == Applied(run_id=previewed.run_id)
            await quiet(next_event, 400)

    asyncio.run(scenario())
    assert (inbox / "INDEX").read_text().splitlines() == [f"note-{i:02d}.txt" for i in range(50)]
    assert [(r.state, r.changes) for r in runs.list_runs(runs_folder())] == [("applied", "1 created")]


def test_runs_wait_for_confirmation_unless_auto_apply(inbox):
    save_tool("index")
    answers = [False, True]

    async def scenario():
        async with watching("index", inbox, confirm=lambda result: answers.pop(0)) as next_event:
            (inbox / "a.txt").write_text("a\n")
            assert isinstance(await next_event(), Changed)
            first = await next_event()
            assert await next_event() == NotApplied(run_id=first.run_id, message=f"not applied; apply with `toolsmith runs apply {first.run_id}`")
            assert not (inbox / "INDEX").exists()

            (inbox / "b.txt").write_text("b\n")
            assert await next_event() == Changed(files=["b.txt"])
            second = await next_event()
            assert await next_event() == Applied(run_id=second.run_id)
            return first.run_id

    first = asyncio.run(scenario())
    assert (inbox / "INDEX").read_text() == "a.txt\nb.txt\n"
    assert runs.get(runs_folder(), first).state == "previewed"


def test_without_confirm_runs_stay_previewed_for_later(inbox):
    save_tool("index")

    async def scenario():
        async with watching("index", inbox) as next_event:
            (inbox / "a.txt").write_text("a\n")
            assert isinstance(await next_event(), Changed)
            return (await next_event()).run_id, await next_event()

    run_id, last = asyncio.run(scenario())
    assert isinstance(last, NotApplied) and not (inbox / "INDEX").exists()
    runs.apply(runs_folder(), run_id)
    assert (inbox / "INDEX").read_text() == "a.txt\n"


def test_a_failing_run_is_reported_and_watching_goes_on(inbox):
    save_tool("picky", PICKY_TOOL)

    async def scenario():
        async with watching("picky", inbox, auto_apply=True, patterns=["*.txt"]) as next_event:
            (inbox / "bad.txt").write_text("x")
            assert await next_event() == Changed(files=["bad.txt"])
            assert isinstance(await next_event(), Previewed)
            failed = await next_event()
            assert isinstance(failed, RunFailed)
            assert failed.message == "picky exited with code 3: refusing: bad.txt is here; nothing was changed"

            (inbox / "bad.txt").unlink()
            (inbox / "good.txt").write_text("y")
            assert await next_event() == Changed(files=["good.txt"])
            assert isinstance(await next_event(), Previewed)
            assert isinstance(await next_event(), Applied)

    asyncio.run(scenario())
    assert (inbox / "INDEX").read_text() == "good.txt\n"


def test_a_tool_that_cannot_load_is_reported_and_watching_goes_on(inbox):
    save_tool("index")
    manifest = Library().load("index").path / "tool.toml"
    good = manifest.read_text()

    async def scenario():
        async with watching("index", inbox, auto_apply=True) as next_event:
            manifest.write_text(good.replace('kind = "dir"', 'kind = "folder"'))
            (inbox / "a.txt").write_text("a\n")
            assert isinstance(await next_event(), Changed)
            failed = await next_event()
            assert isinstance(failed, RunFailed) and "Invalid enum value 'folder'" in failed.message

            manifest.write_text(good)
            (inbox / "b.txt").write_text("b\n")
            assert isinstance(await next_event(), Changed)
            assert isinstance(await next_event(), Previewed)
            assert isinstance(await next_event(), Applied)

    asyncio.run(scenario())
    assert (inbox / "INDEX").read_text() == "a.txt\nb.txt\n"


def test_patterns_choose_which_files_count(inbox):
    save_tool("index")

    async def scenario():
        async with watching("index", inbox, auto_apply=True, patterns=["*.txt"]) as next_event:
            (inbox / "photo.jpg").write_bytes(b"\xff\xd8")
            (inbox / "list.txt").write_text("1\n")
            assert await next_event() == Changed(files=["list.txt"])
            assert isinstance(await next_event(), Previewed)
            assert isinstance(await next_event(), Applied)

    asyncio.run(scenario())


def test_a_folder_that_does_not_exist_is_a_clear_error(tmp_path):
    save_tool("index")
    with pytest.raises(WatchError, match=r"cannot watch .*nowhere: it is not a folder"):
        Watcher("index", Trigger(path=str(tmp_path / "nowhere")), on_event=print)
