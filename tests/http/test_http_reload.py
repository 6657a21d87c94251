"""`toolsmith serve` reloads tools as their files change and keeps the last good version serving."""

import textwrap
import time

import httpx

from toolsmith.core.base import manifest as mm
from toolsmith.core.frontends.http import create_app
from toolsmith.core.frontends.live.reload import Failed
from toolsmith.core.tools.library import Library

from live_server import AUTH, Server, small_config

SOURCE = textwrap.dedent(
    '''\
    import argparse


    def main(argv=None):
        parser = argparse.ArgumentParser(description="Say hello")
        parser.add_argument("name")
        print("hello", parser.parse_args(argv).name)


    if __name__ == "__main__":
        main()
    '''
)


def poll(fetch, until, timeout=30.0):
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if until(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def test_tools_reload_and_a_broken_edit_keeps_the_last_good_version():
    app = create_app(api_key="test-key-0123456789", config=small_config(), reload=True)
    seen = []
    app.state.reloader.on_event = seen.append
    library = Library()
    with Server(app) as server:
        def tool_names():
            return [t["name"] for t in httpx.get(server.url + "/api/tools", headers=AUTH).json()]

        assert tool_names() == []
        now = mm.now()
        library.save(mm.Manifest(name="hello", description="Say hello", created=now, updated=now), SOURCE)
        assert poll(tool_names, lambda names: names == ["hello"]) == ["hello"]

        # An edit that breaks the tool: the server keeps serving the version that passed.
        (library.load("hello").path / "tool.py").write_text("def main(:\n")
        failed = poll(lambda: [e for e in seen if isinstance(e, Failed) and e.name == "hello"], bool)
        assert failed and failed[0].kept and "syntax" in failed[0].message
        shown = httpx.get(server.url + "/api/tools/hello", headers=AUTH).json()
        assert shown["source"] == SOURCE

        # Fixing it is picked up.
        (library.load("hello").path / "tool.py").write_text(SOURCE.replace("hello", "hi"))
        fixed = poll(
            lambda: httpx.get(server.url + "/api/tools/hello", headers=AUTH).json()["source"],
            lambda source: "hi" in source,
        )
        assert fixed == SOURCE.replace("hello", "hi")


def test_without_reload_the_library_is_read_directly():
    app = create_app(api_key="test-key-0123456789", config=small_config())
    now = mm.now()
    Library().save(mm.Manifest(name="hello", description="Say hello", created=now, updated=now), SOURCE)
    with Server(app) as server:
        (Library().load("hello").path / "tool.py").write_text("def main(:\n")
        assert httpx.get(server.url + "/api/tools/hello", headers=AUTH).json()["source"] == "def main(:\n"
