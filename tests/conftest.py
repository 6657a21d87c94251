"""Every test runs with its own TOOLSMITH_HOME, so nothing touches the real home."""

import pytest


@pytest.fixture(autouse=True)
def toolsmith_home(tmp_path, monkeypatch):
    home = tmp_path / "toolsmith-home"
    monkeypatch.setenv("TOOLSMITH_HOME", str(home))
    for var in ("TOOLSMITH_LOAD_PLUGINS", "TOOLSMITH_TRACE_PLUGINS"):
        monkeypatch.delenv(var, raising=False)
    return home
