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
    """

    tokenizer: object  # encode/decode/apply_chat_template/eos_token_ids, as toolsmith.core.engine.Tokenizer

    def generate(
        self, prompt: str | list[int], params: SamplingParams, request_id: str | None = None
    ) -> AsyncIterator[RequestOutput]: ...

    def abort(self, request_id: str) -> None: ...

    def metrics(self) -> EngineMetrics: ...

    def shutdown(self) -> None: ...
