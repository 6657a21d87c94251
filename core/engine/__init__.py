"""Toolsmith's native inference engine: paged KV cache, continuous batching, prefix caching.

Offline:  ``LLM(model_dir).generate(prompts, SamplingParams(...))``.
Online:   ``AsyncEngine(model_dir)``; ``async for out in engine.generate(prompt, params)``.

Names are imported on first use (PEP 562), so light modules such as ``errors``,
``outputs`` and ``sampling`` can be used without paying for ``import torch``: every
CLI command, plugin and HTTP route module imports those at start-up.
"""

from ..lazy import lazy_attributes

_WHERE = {
    "AsyncEngine": "async_engine",
    "CompletionOutput": "outputs",
    "Engine": "protocol",
    "EngineDeadError": "errors",
    "EngineMetrics": "outputs",
    "LLM": "llm",
    "LLMEngine": "llm_engine",
    "ModelLoadError": "errors",
    "RequestError": "errors",
    "RequestMetrics": "outputs",
    "RequestOutput": "outputs",
    "SamplingError": "sampling",
    "SamplingParams": "sampling",
    "TokenLogprob": "outputs",
    "Tokenizer": "tokenizer",
}

__all__ = sorted(_WHERE)
__getattr__ = lazy_attributes(__name__, _WHERE)
