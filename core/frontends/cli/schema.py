"""`toolsmith schema manifest`: the manifest's JSON Schema, for editors and models."""

import click

from ...base import manifest
from .output import emit_json


@click.group()
def schema() -> None:
    """Print JSON Schemas of Toolsmith's file formats."""


@schema.command("manifest")
def manifest_schema() -> None:
    """The JSON Schema of tool.toml."""
    emit_json(manifest.json_schema())
