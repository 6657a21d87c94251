"""The server against clients that misbehave on purpose, on a real uvicorn on 127.0.0.1:
stalled half-header connections (a cap, and read timeouts), JSON nested 1,000 deep,
Host headers that only look like loopback; and the tools API's run rules (grants and
network in the response, a network tool needs `allow_network`)."""

import os
import socket
import tempfile
from pathlib import Path

import httpx
import pytest

from toolsmith.core.base import manifest as manifest_module
from toolsmith.core.frontends.http import create_app
from toolsmith.core.tools.library import Library

from live_server import AUTH, KEY, Server, small_config

CAP = 20


@pytest.fixture(scope="module")
def server():
    config = small_config(max_connections=CAP, header_timeout_s=0.5, body_timeout_s=0.5)
    with Server(create_app(api_key=KEY, config=config)) as running:
        yield running


def connect(server) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    return s


def closed_by_server(s: socket.socket) -> bool:
    """Blocks until the server closes the connection (or 30 s pass: then False)."""
    try:
        while s.recv(65536):
            pass
        return True
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


def test_a_half_sent_header_is_dropped_after_the_header_timeout(server):
    s = connect(server)
    s.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    assert closed_by_server(s)
    s.close()


def test_a_body_that_never_ends_is_dropped_after_the_body_timeout(server):
    s = connect(server)
    s.sendall(b"POST /api/runs/x/apply HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{\"a\": ")
    assert closed_by_server(s)
    s.close()


@pytest.fixture(scope="module")
def patient_server():
    """Timeouts far beyond the test: only the cap can make room."""
    config = small_config(max_connections=CAP, header_timeout_s=600, body_timeout_s=600)
    with Server(create_app(api_key=KEY, config=config)) as running:
        yield running


def test_stalled_connections_past_the_cap_do_not_starve_the_server(patient_server):
    server = patient_server
    stalled = []
    for _ in range(CAP * 3):
        s = connect(server)
        s.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        stalled.append(s)
    assert httpx.get(server.url + "/health", timeout=30).status_code == 200
    assert closed_by_server(stalled[0])  # the oldest stalled one made room
    for s in stalled:
        s.close()


def test_json_nested_a_thousand_deep_is_a_400(server):
    body = "[" * 1000 + "]" * 1000
    response = httpx.post(server.url + "/api/tools/x/run", headers={**AUTH, "content-type": "application/json"}, content=body)
    assert response.status_code == 400 and "nested too deeply" in response.json()["error"]["message"]
    nested = '{"cwd": "/tmp", "args": ' + "[" * 1000 + "]" * 1000 + "}"
    response = httpx.post(server.url + "/v1/chat/completions", headers={**AUTH, "content-type": "application/json"}, content=nested)
    assert response.status_code == 400


@pytest.mark.parametrize("host", ["[::1]evil", "127.0.0.1:80@evil.example", "localhost.evil.example", "127.0.0.1 evil",
                                  "[::1]:80:80", "127.0.0.1:", "", "évil"])
def test_hosts_that_only_look_like_loopback_are_refused(server, host):
    s = connect(server)
    s.sendall(f"GET /api/runs HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {KEY}\r\nConnection: close\r\n\r\n".encode())
    answer = b""
    while chunk := s.recv(65536):
        answer += chunk
    s.close()
    assert answer.split(b" ", 2)[1] in (b"400", b"403"), answer[:200]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost:8765", "[::1]:8765", "LOCALHOST"])
def test_loopback_hosts_are_accepted(server, host):
    assert httpx.get(server.url + "/api/runs", headers={**AUTH, "Host": host}).status_code == 200


NET_TOOL = """\
name = "ping-home"
description = "Count the words in a file, with network"
network = true
origin = "hand"
created = {stamp}
updated = {stamp}

[[parameters]]
name = "file"
kind = "file"
access = "read"
positional = true
required = true
"""
SOURCE = "import sys\nprint(len(open(sys.argv[1]).read().split()))\n"


def test_a_run_carries_its_grants_and_a_network_tool_needs_allow_network(server, toolsmith_home):
    stamp = manifest_module.now().isoformat()
    Library().save(manifest_module.decode(NET_TOOL.format(stamp=stamp).encode()), SOURCE, new=True)
    folder = Path(tempfile.mkdtemp(prefix="http-net-"))
    folder.chmod(0o755)
    (folder / "essay.txt").write_text("three small words\n")
    os.chmod(folder / "essay.txt", 0o644)
    body = {"cwd": str(folder), "args": ["essay.txt"]}
    refused = httpx.post(server.url + "/api/tools/ping-home/run", headers=AUTH, json=body, timeout=120)
    assert refused.status_code == 403
    error = refused.json()["error"]
    assert error["param"] == "allow_network" and "network access" in error["message"] and str(folder / "essay.txt") in error["message"]

    ran = httpx.post(server.url + "/api/tools/ping-home/run", headers=AUTH, json={**body, "allow_network": True}, timeout=120)
    assert ran.status_code == 200, ran.text
    run = ran.json()
    assert run["network"] is True and run["stdout"] == "3\n"
    assert {"path": str(folder / "essay.txt"), "access": "read", "parameter": "file", "default": False} in run["grants"]

    unknown = httpx.post(server.url + "/api/tools/ping-home/run", headers=AUTH, json={**body, "allow_everything": True})
    assert unknown.status_code == 400
