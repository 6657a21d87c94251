"""The built-in recipe catalog: vetted tools for common end-user file tasks.

Each recipe is a folder here holding ``tool.py`` (the source), ``tool.toml`` (its
manifest, ``origin = "recipe"``) and ``phrasings.txt`` (one way people ask for it
per line, used by retrieval). Folders are plain package data, not packages, so a
recipe is exactly what a saved tool looks like.
"""

import functools
from importlib.resources import files

from toolsmith.core import hookimpl
from toolsmith.core.base.manifest import MANIFEST_FILE, decode
from toolsmith.core.tools.recipes import Recipe

SOURCE_FILE = "tool.py"
PHRASINGS_FILE = "phrasings.txt"


@functools.cache
def load_catalog() -> tuple[Recipe, ...]:
    """Read every recipe folder once per process (the files are immutable package data)."""
    root = files(__name__)
    folders = sorted((entry for entry in root.iterdir() if (entry / MANIFEST_FILE).is_file()), key=lambda e: e.name)
    return tuple(_load(folder) for folder in folders)


def _load(folder) -> Recipe:
    manifest = decode((folder / MANIFEST_FILE).read_bytes(), f"recipe {folder.name}/{MANIFEST_FILE}")
    phrasings = [line.strip() for line in (folder / PHRASINGS_FILE).read_text().splitlines() if line.strip()]
    return Recipe(manifest=manifest, source=(folder / SOURCE_FILE).read_text(), phrasings=phrasings)


@hookimpl
def toolsmith_register_recipes(register):
    for recipe in load_catalog():
        register(recipe)
