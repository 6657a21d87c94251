"""The tools API: make a tool, run it with a preview, apply that run, undo it, on real files."""

import json
import os
from pathlib import Path

import httpx
import pytest
from litestar import get
from litestar.testing import TestClient

from toolsmith.core import hookimpl
from toolsmith.core.base.plugin_host import load_plugins, pm
from toolsmith.core.frontends.http import create_app
from toolsmith.sandbox.launcher import SANDBOX_UID

from live_server import AUTH, KEY, small_config

BASE = "http://127.0.0.1:8765"


@pytest.fixture
def client():
    with TestClient(create_app(api_key=KEY, config=small_config()), base_url=BASE, timeout=120) as c:
        yield c


def events(response) -> list[dict]:
    """The JSON events of an SSE body, checking the framing on the way."""
    frames = response.content.split(b"\n\n")
    assert frames[-1] == b""
    return [json.loads(f.removeprefix(b"data: ")) for f in frames[:-1]]


def make_tool(client, description: str) -> str:
    response = client.post("/api/tools", headers=AUTH, json={"description": description})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    found = events(response)
    assert found[0] == {"type": "started", "task": "new", "description": description}
    assert found[-1]["type"] == "saved", found
    return found[-1]["name"]


def photos_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "IMG_0001.JPG").write_bytes(b"first photo")
    (folder / "notes.TXT").write_text("shopping list")
    (folder / "keep.png").write_bytes(b"already lowercase")
    if os.geteuid() == 0:  # as root the sandbox runs tools as SANDBOX_UID: these are that user's files
        for path in [folder, *folder.iterdir()]:
            os.chown(path, SANDBOX_UID, SANDBOX_UID)
    return folder


def listing(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_run_preview_apply_undo_on_real_files(client, tmp_path):
    name = make_tool(client, "make the file extensions lowercase")
    folder = photos_folder(tmp_path)
    before = listing(folder)

    run = client.post(f"/api/tools/{name}/run", headers=AUTH, json={"cwd": str(tmp_path), "args": ["photos"]})
    assert run.status_code == 200, run.text
    plan = run.json()
    assert plan["state"] == "previewed" and plan["exit_code"] == 0
    renames = sorted((c["old_path"], c["path"]) for c in plan["changes"])
    assert renames == [("IMG_0001.JPG", "IMG_0001.jpg"), ("notes.TXT", "notes.txt")]
    assert listing(folder) == before  # a preview changes nothing

    shown = client.get(f"/api/runs/{plan['run_id']}", headers=AUTH).json()
    assert shown["changes"] == plan["changes"]

    applied = client.post(f"/api/runs/{plan['run_id']}/apply", headers=AUTH)
    assert applied.status_code == 200 and applied.json()["state"] == "applied"
    assert listing(folder) == {"IMG_0001.jpg": b"first photo", "keep.png": b"already lowercase", "notes.txt": b"shopping list"}

    again = client.post(f"/api/runs/{plan['run_id']}/apply", headers=AUTH)
    assert again.status_code == 409 and again.json()["error"]["param"] == "run_id"

    undone = client.post(f"/api/runs/{plan['run_id']}/undo", headers=AUTH)
    assert undone.status_code == 200 and undone.json()["state"] == "undone"
    assert listing(folder) == before
    assert [r["state"] for r in client.get("/api/runs", headers=AUTH).json()] == ["undone"]


def test_list_and_show_tools(client):
    name = make_tool(client, "make the file extensions lowercase")
    tools = client.get("/api/tools", headers=AUTH).json()
    assert [t["name"] for t in tools] == [name]
    detail = client.get(f"/api/tools/{name}", headers=AUTH).json()
    assert detail["manifest"]["name"] == name and "def main" in detail["source"]
    assert [v["number"] for v in detail["versions"]] == [1]


def test_unknown_things_are_404_and_bad_input_400(client, tmp_path):
    assert client.get("/api/tools/nothing-here", headers=AUTH).status_code == 404
    assert client.post("/api/tools/nothing-here/run", headers=AUTH, json={"cwd": str(tmp_path)}).status_code == 404
    assert client.post("/api/runs/20260101-000000-abcd/undo", headers=AUTH).status_code == 404
    assert client.get("/api/runs/not-a-run-id", headers=AUTH).status_code == 404
    assert client.get("/api/tools/..", headers=AUTH).status_code in (400, 404)
    empty = client.post("/api/tools", headers=AUTH, json={"description": "   "})
    assert empty.status_code == 400 and "description is empty" in empty.json()["error"]["message"]
    name = make_tool(client, "make the file extensions lowercase")
    relative = client.post(f"/api/tools/{name}/run", headers=AUTH, json={"cwd": "photos"})
    assert relative.status_code == 400 and relative.json()["error"]["param"] == "cwd"
    missing = client.post(f"/api/tools/{name}/run", headers=AUTH, json={"cwd": str(tmp_path), "args": []})
    assert missing.status_code == 400 and "folder" in missing.json()["error"]["message"]


def test_editing_needs_a_model(client):
    name = make_tool(client, "make the file extensions lowercase")
    response = client.post(f"/api/tools/{name}/edit", headers=AUTH, json={"change": "also handle .JPEG"})
    assert response.status_code == 400 and "needs a model" in response.json()["error"]["message"]


def test_recipes_search_and_plugins(client):
    found = client.get("/api/recipes", headers=AUTH, params={"q": "make file extensions lowercase", "limit": 3}).json()
    assert found[0]["name"] == "lowercase-extensions" and len(found) == 3
    assert found == sorted(found, key=lambda r: -r["score"])
    everything = client.get("/api/recipes", headers=AUTH).json()
    assert len(everything) >= 30 and all(r["score"] is None for r in everything)
    plugins = {p["name"]: p["hooks"] for p in client.get("/api/plugins", headers=AUTH).json()}
    assert "toolsmith_register_engines" in plugins["remote_backend"]
    assert "toolsmith_register_engines" in plugins["native_backend"]


def test_the_forge_streams_model_tokens_through_the_server(server):
    """With a model, events arrive as the model writes (a random model cannot write a working tool)."""
    with httpx.stream(
        "POST", server.url + "/api/tools", headers=AUTH, json={"description": "count the words in a file", "generate": True}, timeout=120
    ) as response:
        assert response.status_code == 200
        found = [json.loads(line.removeprefix("data: ")) for line in response.iter_lines() if line]
    kinds = [e["type"] for e in found]
    assert kinds[:3] == ["started", "recipes", "attempt"]
    assert "token" in kinds and kinds[-1] == "error"
    assert "did not produce a working tool" in found[-1]["message"]
    server.wait_idle()


class RoutesPlugin:
    @hookimpl
    def toolsmith_register_routes(self, register):
        @get("/api/hello", sync_to_thread=False)
        def hello() -> dict:
            return {"hello": "plugin"}

        register(hello)


def test_plugins_add_routes_behind_the_same_checks():
    load_plugins()
    plugin = RoutesPlugin()
    pm.register(plugin, "routes-plugin")
    try:
        with TestClient(create_app(api_key=KEY, config=small_config()), base_url=BASE) as c:
            assert c.get("/api/hello", headers=AUTH).json() == {"hello": "plugin"}
            assert c.get("/api/hello").status_code == 401
            assert c.get("/api/hello", headers={**AUTH, "Host": "evil.example"}).status_code == 403
    finally:
        pm.unregister(plugin)


def test_a_name_that_is_not_utf8_is_shown_escaped_and_applied_exactly(client, tmp_path):
    name = make_tool(client, "make the file extensions lowercase")
    folder = photos_folder(tmp_path)
    odd = os.fsdecode(bytes(folder) + b"/caf\xe9.JPG")
    Path(odd).write_bytes(b"latin-1 name")
    if os.geteuid() == 0:
        os.chown(odd, SANDBOX_UID, SANDBOX_UID)

    run = client.post(f"/api/tools/{name}/run", headers=AUTH, json={"cwd": str(folder), "args": ["."]})
    assert run.status_code == 200, run.text
    renames = {c["old_path"]: c["path"] for c in run.json()["changes"]}
    assert renames["caf\\xe9.JPG"] == "caf\\xe9.jpg"  # the bytes shown as escapes, the JSON valid
    assert client.post(f"/api/runs/{run.json()['run_id']}/apply", headers=AUTH).status_code == 200
    assert b"caf\xe9.jpg" in os.listdir(bytes(folder))
