"""Every test runs with its own TOOLSMITH_HOME, so nothing touches the real home."""

import pytest


@pytest.fixture(autouse=True)
def toolsmith_home(tmp_path_factory, monkeypatch):
    # Beside tmp_path, not inside it: tools may be handed tmp_path, and the sandbox
    # refuses to grant a folder that holds Toolsmith's own state.
    home = tmp_path_factory.mktemp("toolsmith-home")
    monkeypatch.setenv("TOOLSMITH_HOME", str(home))
    for var in ("TOOLSMITH_LOAD_PLUGINS", "TOOLSMITH_TRACE_PLUGINS"):
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture
def run_cli(toolsmith_home):
    """Run the real `toolsmith` CLI in a subprocess; returns the CompletedProcess."""
    import os
    import subprocess
    import sys

    def run(*args, env=None, input=None):
        return subprocess.run(
            [sys.executable, "-m", "toolsmith.core.frontends.cli", *map(str, args)],
            capture_output=True,
            text=True,
            env={**os.environ, **(env or {})},
            input=input,
            timeout=120,
        )

    return run
