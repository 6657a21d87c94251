"""A scripted engine double: replies come from a list, prompts are recorded.

It stands in only for what cannot exist in tests — a large pretrained model that
writes good tools — and implements the same `Engine` protocol as the real engine,
streaming each reply in small pieces as a real engine would.
"""

import itertools
import time

from toolsmith.core.inference.outputs import CompletionOutput, EngineMetrics, RequestMetrics, RequestOutput
from toolsmith.core.inference.protocol import TemplatedChat


class ChatTemplate:
    """Renders messages as tagged text; token ids are the text's UTF-8 bytes."""

    def apply_chat_template(self, messages, add_generation_prompt=True):
        text = "".join(f"<{m['role']}>\n{m['content']}\n" for m in messages)
        return text + ("<assistant>\n" if add_generation_prompt else "")

    def encode_chat(self, messages, add_generation_prompt=True):
        return list(self.apply_chat_template(messages, add_generation_prompt).encode())

    def decode(self, ids):
        return bytes(ids).decode()


class ScriptedEngine(TemplatedChat):
    def __init__(self, replies: list[str], chunk: int = 7):
        self.replies = list(replies)
        self.prompts: list[str] = []
        self.chunk = chunk
        self.tokenizer = ChatTemplate()
        self.aborted = 0
        self.closed = False
        self._ids = itertools.count()

    async def generate(self, prompt, params, request_id=None):
        self.prompts.append(self.tokenizer.decode(prompt))
        reply = self.replies.pop(0)
        request_id = request_id or f"scripted-{next(self._ids)}"
        pieces = [reply[i : i + self.chunk] for i in range(0, len(reply), self.chunk)] or [""]
        text = ""
        finished = False
        try:
            for n, piece in enumerate(pieces):
                text += piece
                finished = n == len(pieces) - 1
                yield RequestOutput(
                    request_id=request_id,
                    prompt=prompt,
                    prompt_token_ids=[],
                    outputs=[CompletionOutput(index=0, token_ids=[], text=text, delta_text=piece, finish_reason="stop" if finished else None)],
                    finished=finished,
                    metrics=RequestMetrics(arrival_time=time.monotonic(), first_token_time=None, finished_time=None, num_cached_tokens=0),
                )
        finally:
            if not finished:
                self.aborted += 1

    def abort(self, request_id):
        self.aborted += 1

    def metrics(self):
        return EngineMetrics(
            generation_tokens_per_s=0.0, prompt_tokens_per_s=0.0, num_waiting=0, num_running=0, kv_blocks_total=0,
            kv_blocks_used=0, kv_blocks_free=0, kv_blocks_cached=0, kv_waste=0.0, prefix_cache_hit_rate=0.0,
            num_preemptions=0, total_generated_tokens=0,
        )

    def shutdown(self):
        self.closed = True
