"""Streaming text for generated tokens: complete characters only, stop strings cut out.

Each push decodes only a small window of recent tokens (the prefix/read offsets of
vLLM and TGI): the tokens last taken in stay as context, so the decoder handles spaces
and byte merges exactly as a full decode would, and the new text is whatever the newer
tokens add to the context's text.  When the window's text ends in U+FFFD, the last
token ended inside a multi-byte character, so nothing is emitted until a later token
completes it.

Given the prompt, its last few tokens start the window, so the first generated
token decodes as a continuation (SentencePiece tokenizers drop a leading space only
at the start of a decode).

Text that could be the start of a stop string is held back; once a stop string
appears, the text before it is released and everything after it is dropped.
"""

from __future__ import annotations

from toolsmith.core.engine.tokenizer import Tokenizer

_INCOMPLETE = "\ufffd"
_PROMPT_CONTEXT = 5  # prompt tokens kept as decoding context, as vLLM does


class IncrementalDetokenizer:
    def __init__(
        self,
        tokenizer: Tokenizer,
        stop: list[str],
        skip_special_tokens: bool = True,
        prompt_ids: list[int] | None = None,
    ):
        """Without ``prompt_ids`` the output is ``decode(generated)``; with them, it is what the generated
        tokens add to ``decode(prompt)``."""
        self.tokenizer = tokenizer
        self.stop = [s for s in stop if s]
        self.skip_special_tokens = skip_special_tokens
        self.stopped = False
        self._ids = list(prompt_ids or [])[-_PROMPT_CONTEXT:]  # the window: context, then new tokens
        if self._decode(self._ids).endswith(_INCOMPLETE):
            self._ids = []  # a prompt cut inside a character is no usable context
        self._read = len(self._ids)  # ids[:read] is the context, text already taken in
        self._released: list[str] = []  # pieces handed out; their concatenation is ``text``
        self._held = ""  # decoded text not yet handed out: it may begin a stop string

    @property
    def text(self) -> str:
        """All text handed out so far; after a stop it ends right before the stop string."""
        return "".join(self._released)

    def push(self, token_id: int) -> str:
        """Record one generated token and return the text that is now safe to show."""
        if self.stopped:
            return ""
        self._ids.append(token_id)
        new_text = self._decode_new(final=False)
        return self._release(new_text, final=False) if new_text is not None else ""

    def flush(self) -> str:
        """At the end of generation: return everything still held (an unfinished character decodes as U+FFFD)."""
        if self.stopped:
            return ""
        return self._release(self._decode_new(final=True), final=True)

    def _decode_new(self, final: bool) -> str | None:
        """Text the tokens after ``read`` add, or None while they end inside a character."""
        if self._read == len(self._ids):
            return ""
        context = self._decode(self._ids[: self._read])
        text = self._decode(self._ids)
        if text.endswith(_INCOMPLETE) and not final:
            return None
        del self._ids[: self._read]  # the tokens just taken in are the next context
        self._read = len(self._ids)
        return text[len(context) :]

    def _decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=self.skip_special_tokens) if ids else ""

    def _release(self, new_text: str, final: bool) -> str:
        """Take in decoded text; hand out what cannot be part of a stop string."""
        held = self._held + new_text
        cut = self._find_stop(held)
        if cut is not None:
            self.stopped = True
            out, self._held = held[:cut], ""
        else:
            keep = 0 if final else self._stop_prefix_length(held)
            out, self._held = held[: len(held) - keep], held[len(held) - keep :]
        if out:
            self._released.append(out)
        return out

    def _find_stop(self, text: str) -> int | None:
        """Where the earliest stop string in ``text`` begins (held text never contains a whole one)."""
        found = [i for i in (text.find(s) for s in self.stop) if i >= 0]
        return min(found) if found else None

    def _stop_prefix_length(self, text: str) -> int:
        """Length of the longest suffix of ``text`` that a stop string starts with."""
        longest = 0
        for stop in self.stop:
            for length in range(min(len(stop) - 1, len(text)), longest, -1):
                if text.endswith(stop[:length]):
                    longest = length
                    break
        return longest
