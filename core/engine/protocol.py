"""The interface every inference backend offers (native, exllamav2, remote OpenAI-compatible)."""

from collections.abc import AsyncIterator
from typing import Protocol, runtime_checkable

from .outputs import EngineMetrics, RequestOutput
from .sampling import SamplingParams


@runtime_checkable
class Engine(Protocol):
    """What the forge and the HTTP API call; `toolsmith.core.engines.Backend.create` returns one.

    `generate` is an async generator: it yields cumulative outputs (with
    `delta_text`) and ends after the output whose `finished` is true. Leaving it
    early aborts the request. Bad input raises a ToolsmithError on first iteration.

    Optional: `generate_chat(messages, params, request_id=None)`, the same stream
    for a list of chat messages, for backends that apply the chat template
    themselves (a remote OpenAI-compatible server); the forge prefers it when
    present. `max_model_len` (int), when known, is the context window.
    """

    tokenizer: object  # encode/decode/apply_chat_template/eos_token_ids, as toolsmith.core.engine.Tokenizer

    def generate(
        self, prompt: str | list[int], params: SamplingParams, request_id: str | None = None
    ) -> AsyncIterator[RequestOutput]: ...

    def abort(self, request_id: str) -> None: ...

    def metrics(self) -> EngineMetrics: ...

    def shutdown(self) -> None: ...
