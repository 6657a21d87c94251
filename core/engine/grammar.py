"""Grammar-constrained decoding: a per-request llguidance matcher whose token mask is applied to its row.

llguidance was chosen by measurement (``benchmarks/grammar.py``): it has no dependencies
of its own (xgrammar pulls in transformers and a 1 GB triton), computes a 32k-vocabulary
mask in about 0.1 ms, and compiles JSON schemas and Lark grammars that embed JSON schemas,
which tool calls and the forge's reply format need.  It is imported on first use, so a
server that never constrains a reply never loads it.

JSON is generated compact (no free whitespace): a weak model would otherwise fill its
token budget with spaces, which the grammar allows but which is never a finished reply.
"""

from __future__ import annotations

import functools
import json

import numpy as np
import torch

from ..inference.errors import RequestError
from ..inference.sampling import Constraint

JSON_OPTIONS = {"whitespace_flexible": False}


@functools.cache
def _llguidance():
    try:
        import llguidance
    except ImportError:
        raise RequestError("constrained decoding needs the llguidance package: pip install llguidance") from None
    return llguidance


@functools.cache
def _executor():
    """One thread pool for computing many rows' masks at once."""
    return _llguidance().LLExecutor()


def grammar_text(constraint: Constraint) -> str:
    """The llguidance grammar for a constraint."""
    matcher = _llguidance().LLMatcher
    if constraint.lark is not None:
        return matcher.grammar_from_lark(constraint.lark)
    schema = constraint.json_schema if constraint.json_schema is not None else {"type": "object"}
    return matcher.grammar_from_json_schema(json.dumps(schema), overrides=JSON_OPTIONS)


class GrammarCompiler:
    """Compiles constraints against one model's tokenizer (built once, on first use)."""

    def __init__(self, tokenizer_json: str, vocab_size: int, eos_token_ids: set[int]):
        self._tokenizer_json = tokenizer_json
        self.vocab_size = vocab_size
        self._eos = sorted(eos_token_ids)
        self._tokenizer = None

    def _lltokenizer(self):
        if self._tokenizer is None:
            ll = _llguidance()
            self._tokenizer = ll.LLTokenizer(self._tokenizer_json, n_vocab=self.vocab_size, eos_token=self._eos or None)
        return self._tokenizer

    def matcher(self, constraint: Constraint) -> GrammarState:
        """A fresh matcher for one sequence; a grammar that does not compile is a RequestError naming its source."""
        param = constraint.source
        try:
            grammar = grammar_text(constraint)
        except ValueError as e:
            raise RequestError(f"{param} is not a valid grammar: {e}") from None
        matcher = _llguidance().LLMatcher(self._lltokenizer(), grammar, log_level=0)
        if matcher.is_error():
            raise RequestError(f"{param} cannot be enforced: {matcher.get_error()}")
        return GrammarState(matcher)


class GrammarState:
    """One sequence's position in its grammar."""

    def __init__(self, matcher):
        self._matcher = matcher

    def copy(self) -> GrammarState:
        return GrammarState(self._matcher.deep_copy())

    def consume(self, token_id: int) -> None:
        self._matcher.consume_token(token_id)  # a refused token leaves the matcher in its error state: `done`

    @property
    def done(self) -> bool:
        """The grammar is complete (or broken): the sequence must stop."""
        return self._matcher.is_stopped() or self._matcher.is_error()


def allowed_tokens(states: list[GrammarState], vocab_size: int) -> torch.Tensor:
    """[len(states), vocab_size] bool: which tokens each state's grammar allows next."""
    words = (vocab_size + 31) // 32
    bits = np.zeros((len(states), words), dtype=np.int32)
    if len(states) == 1:
        states[0]._matcher.unsafe_compute_mask_ptr(bits.ctypes.data, bits.nbytes)
    else:
        _executor().unsafe_compute_mask_ptr([(s._matcher, i) for i, s in enumerate(states)], bits.ctypes.data, words * 4, len(states))
    unpacked = np.unpackbits(bits.view(np.uint8), axis=1, bitorder="little")[:, :vocab_size]
    return torch.from_numpy(unpacked.view(np.bool_))
