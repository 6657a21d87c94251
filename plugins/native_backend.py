"""Built-in native engine backend: Toolsmith's own paged-attention engine in pure PyTorch.

torch is imported only when the engine is created or probed, so loading plugins
(every CLI start) stays fast.
"""

import importlib.util

from toolsmith.core import hookimpl
from toolsmith.core.inference.backends import Backend


def create(model: str, device: str = "auto", dtype: str = "auto", url: str = "", tokenizer: str = "", **options):
    """An AsyncEngine (satisfies toolsmith.core.engine.Engine) serving the model folder `model`.

    `url` belongs to remote backends and is ignored here; other options go to LLMEngine.
    """
    from toolsmith.core.engine import AsyncEngine
    from toolsmith.core.inference.errors import ModelLoadError

    if tokenizer:
        raise ModelLoadError("[engine] tokenizer is for the remote backend; the native engine uses the model folder's own")
    if not model:
        raise ModelLoadError("no model folder configured; set [engine] model in the config (toolsmith config path)")
    if device == "auto":
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    return AsyncEngine(model, device=device, dtype=dtype, **options)


def inspect(path: str):
    """The engine's reader on a folder or .gguf file, without loading the weights."""
    from toolsmith.core.engine.model_info import inspect_model

    return inspect_model(path)


def read_config(config: dict) -> str:
    """The family the engine would run this config.json as, or its one-line refusal."""
    from toolsmith.core.engine.model_config import parse_model_config

    return parse_model_config(config).family


def unavailable() -> str | None:
    if importlib.util.find_spec("torch") is None:
        return "PyTorch is not installed; install toolsmith with its default dependencies"
    return None


@hookimpl
def toolsmith_register_engines(register):
    register(
        Backend(
            name="native",
            description=(
                "built-in engine: Llama, Mistral, Qwen 2/3, Gemma 2/3, Phi-3/4, SmolLM3 (safetensors, EXL2, GGUF); "
                "paged KV cache, continuous batching (CPU or CUDA)"
            ),
            create=create,
            unavailable=unavailable,
            inspect=inspect,
            read_config=read_config,
        )
    )
