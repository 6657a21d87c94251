"""A small world for sandbox tests: a fake home full of world-readable secrets, a read
folder, a write folder, loopback listeners and a decoy host process.

Everything here is readable by the sandbox's uid through plain file permissions, so a
denial proves the sandbox stopped it, not DAC. When the tests run as root the sandbox
runs as uid 65534 (as the launcher does for every root start), so the folders the tool
may use are handed to that uid.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from toolsmith.sandbox.launcher import SANDBOX_UID, execute
from toolsmith.sandbox.policy import Policy

ROOT = os.geteuid() == 0
TOOLSMITH = str(Path(sys.executable).with_name("toolsmith"))  # the CLI of the venv running the tests
TOOL_UID = SANDBOX_UID if ROOT else os.getuid()

SECRETS = {
    ".ssh/id_rsa": b"-----BEGIN OPENSSH PRIVATE KEY----- canary-ssh-8d1f\n",
    ".aws/credentials": b"[default]\naws_secret_access_key = canary-aws-77c2\n",
    ".bashrc": b"# canary-bashrc-5a0e\nexport PS1='$ '\n",
}


# Put in front of every attack program: `attempt` records "ok: <value>" or the errno's name.
PRELUDE = """
import ctypes, errno, json, os, signal, socket, sys, time
ARGS = json.loads(sys.argv[1])
RESULTS = {}
def attempt(name, action):
    try:
        RESULTS[name] = "ok: " + str(action())[:300]
    except OSError as e:
        RESULTS[name] = errno.errorcode.get(e.errno, str(e))
def done():
    print(json.dumps(RESULTS))
"""


@dataclass
class World:
    root: Path
    home: Path
    inbox: Path  # the run's read path
    outbox: Path  # the run's write path
    before: dict = field(default_factory=dict)

    def policy(self, **changes) -> Policy:
        settings = dict(read_paths=[str(self.inbox)], write_paths=[str(self.outbox)], timeout=30)
        settings.update(changes)
        return Policy(**settings)

    def run(self, program: str, *args, **policy_changes):
        """Run a Python program in the sandbox; ``args`` reach it JSON-encoded as sys.argv[1]."""
        code = PRELUDE + textwrap.dedent(program)
        argv = ["python3", "-c", code, json.dumps([str(a) if isinstance(a, Path) else a for a in args])]
        return execute(argv, self.policy(**policy_changes))

    def report(self, program: str, *args, **policy_changes) -> dict:
        """Run a program that prints one JSON object as its last line; return that object."""
        result = self.run(program, *args, **policy_changes)
        assert result.exit_code == 0, result.stderr.decode()
        return json.loads(result.stdout.decode().strip().splitlines()[-1])

    def secret(self, name: str = ".ssh/id_rsa") -> Path:
        return self.home / name

    def snapshot(self) -> dict:
        """Every file and link under the world with its content, mode and mtime (outbox excluded)."""
        found = {}
        for folder, dirs, files in os.walk(self.root):
            if Path(folder) == self.outbox or self.outbox in Path(folder).parents:
                continue
            for name in dirs + files:
                path = Path(folder, name)
                if path == self.outbox:
                    continue
                st = path.lstat()
                content = path.read_bytes() if path.is_file() and not path.is_symlink() else None
                found[str(path)] = (st.st_mode, st.st_mtime_ns, st.st_nlink, content)
        return found

    def assert_host_unaffected(self) -> None:
        assert self.snapshot() == self.before
        for name, content in SECRETS.items():
            assert self.secret(name).read_bytes() == content


def make_world() -> World:
    """A world under /tmp (world-traversable), not under pytest's root-only tmp folder."""
    root = Path(tempfile.mkdtemp(prefix="toolsmith-escape-", dir="/tmp"))
    root.chmod(0o755)
    world = World(root, root / "home", root / "inbox", root / "outbox")
    for name, content in SECRETS.items():
        path = world.home / name
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
        path.parent.chmod(0o755)
        path.write_bytes(content)
        path.chmod(0o644)
    world.home.chmod(0o755)
    world.inbox.mkdir()
    (world.inbox / "data.txt").write_text("input data\n")
    world.outbox.mkdir()
    for path in (world.inbox, world.inbox / "data.txt", world.outbox):
        os.chown(path, TOOL_UID, TOOL_UID)
    world.before = world.snapshot()
    return world


def remove_world(world: World) -> None:
    shutil.rmtree(world.root, ignore_errors=True)


def readable_without_sandbox(path: Path) -> bool:
    """Would the sandbox's uid read this file if only file permissions stood in the way?"""
    done = subprocess.run(["cat", str(path)], capture_output=True, user=TOOL_UID if ROOT else None)
    return done.returncode == 0 and done.stdout == path.read_bytes()


def listener(family=socket.AF_INET, kind=socket.SOCK_STREAM, address=("127.0.0.1", 0)) -> socket.socket:
    """A listener the test owns, on loopback or a UNIX address only."""
    sock = socket.socket(family, kind)
    sock.bind(address)
    if kind == socket.SOCK_STREAM:
        sock.listen(8)
    sock.setblocking(False)
    return sock


def received_nothing(sock: socket.socket) -> bool:
    """No connection was accepted and no datagram arrived."""
    try:
        if sock.type == socket.SOCK_STREAM:
            sock.accept()[0].close()
        else:
            sock.recv(65536)
    except BlockingIOError:
        return True
    return False


def decoy() -> subprocess.Popen:
    """A host process with the sandbox's own uid: only the sandbox keeps a tool away from it."""
    return subprocess.Popen(["sleep", "300"], user=TOOL_UID if ROOT else None)


def process_state(pid: int) -> str:
    with open(f"/proc/{pid}/status") as f:
        return next(line.split()[1] for line in f if line.startswith("State:"))

