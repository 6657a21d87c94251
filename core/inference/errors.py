"""Errors the engine raises for bad models and bad requests.

Each is a ToolsmithError, so the CLI prints it as one line; the message names
the problem and what to do about it.
"""

from ..base.errors import ToolsmithError


class ModelLoadError(ToolsmithError):
    """A model folder is missing files, has an unsupported config, or wrong shapes."""


class RequestError(ToolsmithError):
    """A request cannot be served: bad tokens, too long, or larger than the KV cache."""


class EngineDeadError(ToolsmithError):
    """The engine's step loop failed; every request in flight gets this error."""


def check_prompt_fits(ids: list[int], max_tokens: int, context: int, what: str) -> None:
    """Refuse an empty prompt, or one whose prompt + max_tokens cannot fit `what` (context tokens)."""
    if not ids:
        raise RequestError("the prompt is empty; give at least one token")
    if len(ids) + max_tokens > context:
        raise RequestError(
            f"prompt ({len(ids)} tokens) + max_tokens ({max_tokens}) exceeds {what} of {context} tokens; "
            "shorten the prompt or lower max_tokens"
        )

