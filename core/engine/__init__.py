"""Toolsmith's native inference engine: paged KV cache, continuous batching, prefix caching.

Offline:  ``LLM(model_dir).generate(prompts, SamplingParams(...))``.
Online:   ``AsyncEngine(model_dir)``; ``async for out in engine.generate(prompt, params)``.

The engine implements ``toolsmith.core.inference.Engine``; the torch-free types it
shares with every backend (sampling parameters, outputs, errors) live in
``toolsmith.core.inference`` and are re-exported here for the offline API. The
engine's own classes import torch, so they load on first use (PEP 562).
"""

from ..base.lazy import lazy_attributes
from ..inference.errors import EngineDeadError, ModelLoadError, RequestError
from ..inference.outputs import CompletionOutput, EngineMetrics, RequestMetrics, RequestOutput, TokenLogprob
from ..inference.protocol import Engine
from ..inference.sampling import SamplingError, SamplingParams

_WHERE = {
    "AsyncEngine": "async_engine",
    "LLM": "llm",
    "LLMEngine": "llm_engine",
    "Tokenizer": "tokenizer",
}

__all__ = sorted([
    *_WHERE, "CompletionOutput", "Engine", "EngineDeadError", "EngineMetrics", "ModelLoadError", "RequestError",
    "RequestMetrics", "RequestOutput", "SamplingError", "SamplingParams", "TokenLogprob",
])
__getattr__ = lazy_attributes(__name__, _WHERE)
