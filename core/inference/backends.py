"""Inference backends: what an engine plugin registers, and the table of them."""

from collections.abc import Callable
from typing import Any

import msgspec

from ..base.plugin_host import collect


class ModelInfo(msgspec.Struct, kw_only=True, frozen=True):
    """What a backend's reader says about a model it can load (before loading it)."""

    architecture: str
    family: str
    format: str  # "float16", "bfloat16", "float32", "exl2" or "gguf Q4_K" (the file's main weight type)
    size_bytes: int  # on disk
    context_length: int


class Backend(msgspec.Struct, kw_only=True, frozen=True):
    """An inference backend a plugin offers.

    `create(**options)` returns an object satisfying `toolsmith.core.engine.Engine`;
    `unavailable()` returns None when the backend can run on this machine, or a
    one-line reason when it cannot. `inspect(path)`, where a backend has one, reads a
    model folder or file without loading it and returns a `ModelInfo`, or raises a
    `ModelLoadError` saying why it cannot load it; `models add` registers nothing else.
    """

    name: str
    description: str
    create: Callable[..., Any]
    unavailable: Callable[[], str | None] = lambda: None
    inspect: Callable[[str], ModelInfo] | None = None
    read_config: Callable[[dict], str] | None = None  # config.json -> family, or ModelLoadError (before a download)


def backends() -> dict[str, Backend]:
    return {backend.name: backend for _, backend in collect("toolsmith_register_engines")}
