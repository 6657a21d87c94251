"""`toolsmith config show|path`."""

import click
import msgspec

from ...base import config as config_module
from ...base import paths
from ...forge import session_log
from .output import console, emit_json, json_option


@click.group()
def config() -> None:
    """Show the configuration and where it lives."""


@config.command()
@json_option
def show(as_json: bool) -> None:
    """Print the effective configuration (file plus environment overrides)."""
    loaded = config_module.load()
    if as_json:
        emit_json(msgspec.to_builtins(loaded))
    else:
        console().print(config_module.to_toml(loaded), markup=False)


@config.command()
@json_option
def path(as_json: bool) -> None:
    """Print the config file's path and the data and cache folders."""
    where = {
        "config": str(paths.config_file()),
        "data": str(paths.data_dir()),
        "cache": str(paths.cache_dir()),
        "plugins": str(paths.plugins_dir()),
        "logs": str(session_log.db_path()),
    }
    if as_json:
        emit_json(where)
    else:
        click.echo(where["config"])
