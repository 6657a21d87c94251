"""Toolsmith's native inference engine: paged KV cache, continuous batching, prefix caching.

Offline:  ``LLM(model_dir).generate(prompts, SamplingParams(...))``.
Online:   ``AsyncEngine(model_dir)``; ``async for out in engine.generate(prompt, params)``.
Importing this package imports torch; the CLI imports it lazily.
"""

from .async_engine import AsyncEngine
from .errors import EngineDeadError, ModelLoadError, RequestError
from .llm import LLM
from .llm_engine import LLMEngine
from .outputs import CompletionOutput, EngineMetrics, RequestMetrics, RequestOutput, TokenLogprob
from .protocol import Engine
from .sampling import SamplingError, SamplingParams
from .tokenizer import Tokenizer

__all__ = [
    "LLM",
    "AsyncEngine",
    "CompletionOutput",
    "Engine",
    "EngineDeadError",
    "EngineMetrics",
    "LLMEngine",
    "ModelLoadError",
    "RequestError",
    "RequestMetrics",
    "RequestOutput",
    "SamplingError",
    "SamplingParams",
    "TokenLogprob",
    "Tokenizer",
]
