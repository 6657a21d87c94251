"""The interface every inference backend offers (native, exllamav2, remote OpenAI-compatible)."""

from collections.abc import AsyncIterator
from typing import Protocol, runtime_checkable

from .outputs import EngineMetrics, RequestOutput
from .sampling import SamplingParams


@runtime_checkable
class Engine(Protocol):
    """What the forge and the HTTP API call; `toolsmith.core.inference.backends.Backend.create` returns one.

    `generate` is an async generator: it yields cumulative outputs (with
    `delta_text`) and ends after the output whose `finished` is true. Leaving it
    early aborts the request. Bad input raises a ToolsmithError on first iteration.
    `generate_chat` is the same stream for a list of chat messages: a local engine
    renders them with its tokenizer's template (`TemplatedChat`), a remote server
    with its own. `max_model_len` (int), when known, is the context window.
    `constraints`, when present, names the `Constraint` kinds it enforces ("json",
    "lark"); an engine without it enforces none.
    """

    tokenizer: object  # encode/decode/apply_chat_template/eos_token_ids, as toolsmith.core.engine.Tokenizer

    def generate(
        self, prompt: str | list[int], params: SamplingParams, request_id: str | None = None
    ) -> AsyncIterator[RequestOutput]: ...

    def generate_chat(
        self, messages: list[dict], params: SamplingParams, request_id: str | None = None
    ) -> AsyncIterator[RequestOutput]: ...

    def abort(self, request_id: str) -> None: ...

    def metrics(self) -> EngineMetrics: ...

    def shutdown(self) -> None: ...


class TemplatedChat:
    """`generate_chat` for an engine whose tokenizer holds the model's chat template."""

    def generate_chat(
        self, messages: list[dict], params: SamplingParams, request_id: str | None = None
    ) -> AsyncIterator[RequestOutput]:
        # token ids, not text: encoding the rendered text would add a second BOS token
        return self.generate(self.tokenizer.encode_chat(messages, add_generation_prompt=True), params, request_id)
