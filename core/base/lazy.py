"""Package attributes imported on first use (PEP 562).

Packages whose modules are heavy (the engine imports torch) or rarely needed (the
sandbox's journal for `sandbox exec`) export their names this way, so importing one
light module does not import them all.
"""

import importlib
import sys


def lazy_attributes(package: str, where: dict[str, str]):
    """A module `__getattr__` that imports `where[name]` (a submodule) when `name` is first used."""

    def __getattr__(name: str):
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{where[name]}", package), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
