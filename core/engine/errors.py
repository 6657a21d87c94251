"""Errors the engine raises for bad models and bad requests.

Each is a ToolsmithError, so the CLI prints it as one line; the message names
the problem and what to do about it.
"""

from ..errors import ToolsmithError


class ModelLoadError(ToolsmithError):
    """A model folder is missing files, has an unsupported config, or wrong shapes."""


class RequestError(ToolsmithError):
    """A request cannot be served: bad tokens, too long, or larger than the KV cache."""


class EngineDeadError(ToolsmithError):
    """The engine's step loop failed; every request in flight gets this error."""
