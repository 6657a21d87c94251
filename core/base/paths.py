"""Where Toolsmith keeps its state.

`TOOLSMITH_HOME` relocates everything (config, data, cache) under one folder; tests
always set it so that nothing touches the real home directory.
"""

import os
from pathlib import Path

import platformdirs

APP = "toolsmith"


def _home() -> Path | None:
    home = os.environ.get("TOOLSMITH_HOME")
    return Path(home).expanduser().resolve() if home else None


def config_dir() -> Path:
    home = _home()
    return home / "config" if home else Path(platformdirs.user_config_dir(APP))


def data_dir() -> Path:
    home = _home()
    return home / "data" if home else Path(platformdirs.user_data_dir(APP))


def cache_dir() -> Path:
    home = _home()
    return home / "cache" if home else Path(platformdirs.user_cache_dir(APP))


def config_file() -> Path:
    return config_dir() / "config.toml"


def plugins_dir() -> Path:
    """Single-file plugins: every `*.py` here is loaded as a plugin."""
    return config_dir() / "plugins"


def tools_dir() -> Path:
    return data_dir() / "tools"


def trash_dir() -> Path:
    return data_dir() / "trash"
