"""Drive an `Engine` (async) from the forge's synchronous pipeline."""

import asyncio
from collections.abc import Iterator

from ..base.config import ForgeConfig
from ..inference.protocol import Engine
from .reply_format import enforces_grammars, reply_constraint


def stream_deltas(engine: Engine, messages: list[dict], settings: ForgeConfig) -> Iterator[str]:
    """Render the chat, generate, and yield text as it arrives.

    An engine that enforces Lark grammars is held to the reply format, so the reply parses.

    Closing the iterator early (Ctrl-C, an error) closes the engine's stream, which
    aborts the request and frees its KV blocks.
    """
    from ..inference.sampling import SamplingParams

    constraint = reply_constraint() if enforces_grammars(engine) else None
    params = SamplingParams(temperature=settings.temperature, max_tokens=settings.max_tokens, seed=0, constraint=constraint)
    stream = engine.generate_chat(messages, params)
    loop = asyncio.new_event_loop()
    try:
        while True:
            try:
                output = loop.run_until_complete(stream.__anext__())
            except StopAsyncIteration:
                return
            if output.outputs[0].delta_text:
                yield output.outputs[0].delta_text
    finally:
        loop.run_until_complete(stream.aclose())
        loop.close()
