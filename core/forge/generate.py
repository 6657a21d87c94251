"""Drive an `Engine` (async) from the forge's synchronous pipeline."""

import asyncio
from collections.abc import Iterator

from ..config import ForgeConfig


def stream_deltas(engine, messages: list[dict], settings: ForgeConfig) -> Iterator[str]:
    """Render the chat, generate, and yield text as it arrives.

    Closing the iterator early (Ctrl-C, an error) closes the engine's stream, which
    aborts the request and frees its KV blocks.
    """
    from ..engine.sampling import SamplingParams

    params = SamplingParams(temperature=settings.temperature, max_tokens=settings.max_tokens, seed=0)
    if hasattr(engine, "generate_chat"):  # a remote server renders the chat with its own template
        stream = engine.generate_chat(messages, params)
    else:  # token ids, not text: encoding rendered text would add a second BOS token
        stream = engine.generate(engine.tokenizer.encode_chat(messages, add_generation_prompt=True), params)
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
