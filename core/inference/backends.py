"""Inference backends: what an engine plugin registers, and the table of them."""

from collections.abc import Callable
from typing import Any

import msgspec

from ..base.plugin_host import collect


class Backend(msgspec.Struct, kw_only=True, frozen=True):
    """An inference backend a plugin offers.

    `create(**options)` returns an object satisfying `toolsmith.core.engine.Engine`;
    `unavailable()` returns None when the backend can run on this machine, or a
    one-line reason when it cannot.
    """

    name: str
    description: str
    create: Callable[..., Any]
    unavailable: Callable[[], str | None] = lambda: None


def backends() -> dict[str, Backend]:
    return {backend.name: backend for _, backend in collect("toolsmith_register_engines")}
