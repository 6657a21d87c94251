"""The launcher started by a normal user, not by root: every layer, no root-only staging.

The other tests run as root (as CI does), where the launcher drops to uid 65534 by
itself. Here the whole launcher runs as uid 65534 from the start, the way a user runs
toolsmith. That uid cannot read this checkout or its venv when they live in root's home
(as on CI), so the test copies the sandbox package (self-contained: it needs nothing
of toolsmith.core) and msgspec to a folder it can read, and uses the system interpreter.
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import msgspec
import pytest

import toolsmith.sandbox

from escape_harness import ROOT, make_world, remove_world

SYSTEM_PYTHON = "/usr/bin/python3"

PROGRAM = """
import json, sys
from toolsmith.sandbox.launcher import check_layers, execute
from toolsmith.sandbox.policy import Policy
world = json.loads(sys.argv[1])
layers = {s.name: [s.active, s.detail] for s in check_layers()}
policy = Policy(read_paths=[world["inbox"]], write_paths=[world["outbox"]], timeout=30)
secret = execute(["python3", "-c", "import sys; print(open(sys.argv[1]).read())", world["secret"]], policy)
copy = execute(["cp", world["inbox"] + "/data.txt", world["outbox"] + "/copied.txt"], policy)
print(json.dumps({"layers": layers, "secret": [secret.exit_code, secret.stdout.decode(), secret.stderr.decode()],
                  "copy": copy.exit_code}))
"""


@pytest.mark.skipif(not ROOT, reason="needs root to start a process as another, unprivileged user")
def test_a_normal_user_gets_every_layer(tmp_path):
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        pytest.skip(f"no system interpreter at {SYSTEM_PYTHON} for the unprivileged user")
    world = make_world()
    shim = Path(world.root, "shim")
    try:
        package = shim / "toolsmith"
        ignore = shutil.ignore_patterns("__pycache__")
        shutil.copytree(Path(toolsmith.sandbox.__file__).parent, package / "sandbox", ignore=ignore)
        for library in (msgspec,):  # the sandbox needs nothing of toolsmith.core
            shutil.copytree(Path(library.__file__).parent, shim / library.__name__, ignore=ignore)
        for folder, _, _ in os.walk(shim):
            os.chmod(folder, 0o755)
        paths = {"inbox": str(world.inbox), "outbox": str(world.outbox), "secret": str(world.secret())}
        done = subprocess.run(
            [SYSTEM_PYTHON, "-c", PROGRAM, json.dumps(paths)],
            user=65534, group=65534, extra_groups=[], cwd="/", capture_output=True, text=True, timeout=120,
            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(shim), "PYTHONDONTWRITEBYTECODE": "1"},
        )
        assert done.returncode == 0, done.stderr
        got = json.loads(done.stdout.strip().splitlines()[-1])
        active = {name: on for name, (on, _) in got["layers"].items()}
        per_run_memory = active.pop("run memory")  # only with a memory cgroup delegated to the user
        assert active == dict.fromkeys(active, True)
        assert per_run_memory or got["layers"]["run memory"][1].startswith("not limited per run: ")
        assert got["layers"]["unprivileged uid"][1] == "runs as uid 65534"  # no drop: it is not root
        code, out, err = got["secret"]
        assert code == 1 and out == "" and "No such file or directory" in err
        assert got["copy"] == 0 and (world.outbox / "copied.txt").read_text() == "input data\n"
    finally:
        shutil.rmtree(shim, ignore_errors=True)
        world.assert_host_unaffected()
        remove_world(world)
