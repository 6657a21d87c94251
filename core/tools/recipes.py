"""Recipes: vetted tools that plugins add to the catalog through `toolsmith_register_recipes`."""

import msgspec

from ..base.manifest import Manifest
from ..base.plugin_host import collect


class Recipe(msgspec.Struct, kw_only=True, frozen=True):
    """A vetted tool plus the phrasings people use to ask for it (for retrieval)."""

    manifest: Manifest
    source: str
    phrasings: list[str]

    @property
    def name(self) -> str:
        return self.manifest.name


def recipes() -> dict[str, Recipe]:
    """The catalog by name; a later registration of the same name wins."""
    return {recipe.name: recipe for _, recipe in collect("toolsmith_register_recipes")}
