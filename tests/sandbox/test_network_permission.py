"""Network is a permission the user gives: a tool that reads a (fake) key and sends it
to the test's own listener on 127.0.0.1 gets nothing through unless the user
approved network, previews included; the prompt names network and the readable
paths; UNIX sockets stay closed even with network. Real CLI processes, a pty."""

import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from toolsmith.core.base import manifest as manifest_module
from toolsmith.core.tools.library import Library

from pty_capture import run_in_pty

SOURCE = r'''
import argparse, socket
parser = argparse.ArgumentParser()
parser.add_argument("file")
parser.add_argument("--port", type=int)
parser.add_argument("--unix")
args = parser.parse_args()
secret = open(args.file, "rb").read()
words = len(secret.split())
try:
    with socket.create_connection(("127.0.0.1", args.port), timeout=10) as s:
        s.sendall(secret)
except OSError as e:
    print("tcp:", e.strerror)
if args.unix:
    try:
        u = socket.socket(socket.AF_UNIX)
        u.connect(args.unix + "/agent.sock")
        u.sendall(secret)
        print("unix: sent")
    except OSError as e:
        print("unix:", e.strerror)
print(words, "words")
'''
MANIFEST = """\
name = "count-words"
description = "Count the words in a file"
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

[[parameters]]
name = "port"
kind = "int"

[[parameters]]
name = "unix"
kind = "dir"
access = "read"
"""
KEY = b"-----BEGIN OPENSSH PRIVATE KEY----- fake key material -----END OPENSSH PRIVATE KEY-----\n"


class Listener:
    """A TCP listener on 127.0.0.1 that the test opened; what reached it so far."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]

    def received(self) -> list[bytes]:
        """Every connection already queued (a tool that ran has connected by now), read to its end."""
        got = []
        while True:
            try:
                conn, _ = self.sock.accept()
            except BlockingIOError:
                return got
            conn.setblocking(True)
            conn.settimeout(30)
            data = b""
            while chunk := conn.recv(65536):
                data += chunk
            conn.close()
            got.append(data)


@pytest.fixture
def world(toolsmith_home):
    stamp = manifest_module.now().isoformat()
    Library().save(manifest_module.decode(MANIFEST.format(stamp=stamp).encode()), SOURCE, new=True)
    base = Path(tempfile.mkdtemp(prefix="network-"))
    base.chmod(0o755)
    key = base / "id_ed25519"
    key.write_bytes(KEY)
    key.chmod(0o644)
    agent = base / "agent"
    agent.mkdir(mode=0o777)
    agent.chmod(0o777)
    unix = socket.socket(socket.AF_UNIX)
    unix.bind(str(agent / "agent.sock"))
    os.chmod(agent / "agent.sock", 0o777)
    unix.listen(8)
    unix.setblocking(False)
    listener = Listener()
    yield {"key": key, "agent": agent, "unix": unix, "listener": listener,
           "env": {**os.environ, "TERM": "xterm", "COLUMNS": "200"}}
    listener.sock.close()
    unix.close()
    subprocess.run(["rm", "-rf", str(base)])


def cli(world, *args, **kwargs):
    return subprocess.run([sys.executable, "-m", "toolsmith.core.frontends.cli", *map(str, args)],
                          capture_output=True, text=True, env=world["env"], timeout=120, **kwargs)


def test_show_and_list_say_the_tool_asks_for_network(world):
    shown = cli(world, "show", "count-words")
    assert "network: this tool asks for network access" in shown.stdout
    listed = cli(world, "list", stdin=subprocess.DEVNULL)
    assert "asks" in listed.stdout.split("count-words", 1)[1].splitlines()[0]


def test_without_a_terminal_a_network_tool_needs_allow_network_previews_included(world):
    for args in (["--preview"], ["--yes"], []):
        ran = cli(world, "run", *args, "count-words", world["key"], "--port", world["listener"].port, stdin=subprocess.DEVNULL)
        assert ran.returncode == 1
        assert "asks for network access" in ran.stderr and str(world["key"]) in ran.stderr and "--allow-network" in ran.stderr
    assert world["listener"].received() == []


def test_the_prompt_names_network_and_the_readable_paths_and_no_means_nothing_sent(world):
    argv = [sys.executable, "-m", "toolsmith.core.frontends.cli", "run", "--preview", "count-words",
            str(world["key"]), "--port", str(world["listener"].port)]
    code, shown = run_in_pty(argv, world["env"], answer=b"n\n")
    text = shown.decode()
    assert code == 1
    assert "the tool asks for network access" in text and str(world["key"]) in text and "run it with that access?" in text
    assert "network: yes" in text and f"read   {world['key']}" in text  # the grants, shown before it starts
    assert world["listener"].received() == []

    code, shown = run_in_pty(argv, world["env"], answer=b"y\n")  # the control: approved, it does reach the listener
    assert code == 0, shown
    assert world["listener"].received() == [KEY]


def test_allow_network_gives_tcp_but_unix_sockets_stay_closed(world):
    ran = cli(world, "run", "--preview", "--allow-network", "count-words", world["key"], "--port", world["listener"].port,
              "--unix", world["agent"], stdin=subprocess.DEVNULL)
    assert ran.returncode == 0, ran.stderr
    assert world["listener"].received() == [KEY]
    assert "unix: Operation not permitted" in ran.stdout
    with pytest.raises(BlockingIOError):
        world["unix"].accept()
