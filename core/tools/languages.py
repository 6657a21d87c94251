"""Tool languages: what a language plugin provides, and the table of registered ones."""

from pathlib import Path
from typing import Protocol

from ..base.diagnostics import Diagnostic
from ..base.errors import ToolsmithError
from ..base.manifest import Manifest, Parameter
from ..base.plugin_host import collect


class Language(Protocol):
    """A language tools can be written in (Python and bash are built in)."""

    name: str
    source_file: str  # the file name of a tool's source in its folder, e.g. "tool.py"

    def check(self, source: str, manifest: Manifest | None, settings) -> list[Diagnostic]:
        """Syntax, structure and policy checks; `settings` is the config's `checks` section."""

    def infer_parameters(self, source: str) -> list[Parameter]:
        """Parameters read from the source's argument parsing (for `toolsmith import`)."""

    def command(self, source_path: Path) -> list[str]:
        """The argv that runs the tool (arguments are appended)."""


class UnknownLanguage(ToolsmithError):
    """No registered language has that name or file suffix."""


def languages() -> dict[str, Language]:
    """Registered languages by name; a later registration of a name wins."""
    return {language.name: language for _, language in collect("toolsmith_register_languages")}


def get_language(name: str) -> Language:
    table = languages()
    if name not in table:
        known = ", ".join(sorted(table)) or "none"
        raise UnknownLanguage(f"unknown tool language {name!r} (known: {known}); install a plugin that adds it")
    return table[name]


def language_for_file(path: Path) -> Language:
    """Pick a language by the file's suffix (used by `toolsmith import` and `check`)."""
    for language in languages().values():
        if Path(language.source_file).suffix == path.suffix:
            return language
    raise UnknownLanguage(f"no tool language handles {path.suffix or 'files without a suffix'!r} files ({path})")
