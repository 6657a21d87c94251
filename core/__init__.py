"""Toolsmith's core: plugin host, config, tool library, checks, forge, engine and CLI."""

from pluggy import HookimplMarker

hookimpl = HookimplMarker("toolsmith")

__all__ = ["hookimpl"]
