"""The API key and Host checks on every route, the key file, CORS, body limits, and /health while loading."""

import os
import stat
import subprocess
import sys
import threading
import time

import httpx
import pytest
from litestar.testing import TestClient

from toolsmith.core.base.errors import ToolsmithError
from toolsmith.core.frontends.http import create_app
from toolsmith.core.frontends.http.security import KEY_ENV, api_key, key_file

from live_server import AUTH, KEY, open_tiny, small_config

BASE = "http://127.0.0.1:8765"


def all_routes(client) -> list[tuple[str, str]]:
    schema = client.get("/schema/openapi.json", headers=AUTH).json()
    routes = [
        (method.upper(), path.replace("{name}", "some-tool").replace("{run_id}", "20260101-000000-abcd"))
        for path, ops in schema["paths"].items()
        for method in ops
    ]
    return [*routes, ("GET", "/schema/openapi.json")]


@pytest.fixture
def client():
    with TestClient(create_app(api_key=KEY, config=small_config()), base_url=BASE) as c:
        yield c


def test_every_route_but_health_needs_the_key(client):
    routes = all_routes(client)
    assert len(routes) >= 15
    for method, path in routes:
        status = client.request(method, path).status_code
        assert status == (200 if path == "/health" else 401), (method, path)
        wrong = client.request(method, path, headers={"Authorization": "Bearer nope"}).status_code
        assert wrong == (200 if path == "/health" else 401), (method, path)
        assert client.request(method, path, headers=AUTH).status_code not in (401, 403), (method, path)


@pytest.mark.parametrize("host", ["evil.example", "127.0.0.1.nip.io", "localhost.evil.example:8765", "192.168.1.5:8765", ""])
def test_every_route_refuses_a_foreign_host_header(client, host):
    for method, path in all_routes(client):
        response = client.request(method, path, headers={**AUTH, "Host": host})
        assert response.status_code == 403, (method, path)
        error = response.json()["error"]
        if path.startswith("/api/") and path.rsplit("/", 1)[1] in ("chat", "generate", "tags", "show", "version"):
            assert "Host" in error, path  # the Ollama plugin answers in Ollama's shape, {"error": "..."}
        else:
            assert error["type"] == "permission_error"


@pytest.mark.parametrize("host", ["localhost:8765", "127.0.0.1", "[::1]:8765", "LOCALHOST"])
def test_loopback_host_names_are_accepted(client, host):
    response = client.get("/v1/models", headers={**AUTH, "Host": host})
    assert response.status_code == 200 and response.json()["data"] == []  # served without a model


def test_x_api_key_header_is_accepted(client):
    assert client.get("/api/plugins", headers={"x-api-key": KEY}).status_code == 200


def test_key_file_is_made_once_with_0600(monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    first = api_key()
    assert len(first) > 30
    assert stat.S_IMODE(os.stat(key_file()).st_mode) == 0o600
    assert api_key() == first
    monkeypatch.setenv(KEY_ENV, "from-the-environment")
    assert api_key() == "from-the-environment"


def test_an_empty_key_file_is_refused_not_trusted(monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    key_file().parent.mkdir(parents=True)
    key_file().write_text("\n")
    with pytest.raises(ToolsmithError, match="is empty; delete it"):
        api_key()


def test_show_key_prints_the_stored_key(run_cli, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    shown = run_cli("serve", "--show-key")
    assert shown.returncode == 0
    assert shown.stdout.strip() == key_file().read_text().strip()


def test_no_cors_headers_unless_configured(client):
    preflight = {"Origin": "https://example.com", "Access-Control-Request-Method": "POST"}
    response = client.options("/v1/chat/completions", headers=preflight)
    assert "access-control-allow-origin" not in response.headers
    assert "access-control-allow-origin" not in client.get("/health", headers={"Origin": "https://example.com"}).headers
    app = create_app(api_key=KEY, config=small_config(cors_origins=["https://example.com"]))
    with TestClient(app, base_url=BASE) as allowed:
        response = allowed.options("/v1/chat/completions", headers=preflight)
        assert response.headers["access-control-allow-origin"] == "https://example.com"


def test_request_bodies_over_the_limit_are_refused(client):
    big = {"prompt": "x" * 3000, "max_tokens": 1}
    app = create_app(api_key=KEY, config=small_config(max_body_bytes=2048))
    with TestClient(app, base_url=BASE) as small:
        response = small.post("/v1/completions", headers=AUTH, json=big)
    assert response.status_code == 413
    assert "error" in response.json()


def test_health_is_503_while_the_model_loads_then_200(model_dir):
    release = threading.Event()
    opener = open_tiny(model_dir)

    def slow_open():
        release.wait(30)
        return opener()

    with TestClient(create_app(api_key=KEY, open_engine=slow_open, model_name="tiny", config=small_config()), base_url=BASE) as c:
        loading = c.get("/health")
        assert loading.status_code == 503 and loading.json()["error"]["type"] == "unavailable_error"
        assert c.post("/v1/completions", headers=AUTH, json={"prompt": "hi"}).status_code == 503
        release.set()
        deadline = time.monotonic() + 30
        while c.get("/health").status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert c.get("/health").json() == {"status": "ok", "model": "tiny"}


def test_a_model_that_fails_to_load_is_reported():
    def broken():
        raise RuntimeError("weights are damaged")

    with TestClient(create_app(api_key=KEY, open_engine=broken, model_name="bad", config=small_config()), base_url=BASE) as c:
        deadline = time.monotonic() + 10
        while "failed" not in c.get("/health").text:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        health = c.get("/health")
        assert health.status_code == 503 and "weights are damaged" in health.json()["error"]["message"]
        answer = c.post("/v1/completions", headers=AUTH, json={"prompt": "hi"})
        assert answer.status_code == 503 and "failed to load" in answer.json()["error"]["message"]


def test_serve_command_serves_a_model_folder_on_loopback(model_dir, toolsmith_home):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, KEY_ENV: "cli-key"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "toolsmith.core.frontends.cli", "serve", "--port", str(port), "--model", str(model_dir)],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, proc.stderr.read()
            try:
                if httpx.get(url + "/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline
            time.sleep(0.1)
        models = httpx.get(url + "/v1/models", headers={"Authorization": "Bearer cli-key"}).json()
        assert [m["id"] for m in models["data"]] == [model_dir.name]
        answer = httpx.post(url + "/v1/completions", headers={"Authorization": "Bearer cli-key"}, json={"prompt": "hi", "max_tokens": 2})
        assert answer.status_code == 200 and answer.json()["usage"]["completion_tokens"] <= 2
    finally:
        proc.terminate()
        proc.wait(20)


def test_serve_refuses_an_unknown_model(run_cli):
    result = run_cli("serve", "--model", "no-such-model", "--port", "1")
    assert result.returncode == 1
    assert "no-such-model" in result.stderr and "toolsmith models list" in result.stderr
