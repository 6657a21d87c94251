"""Read a Hugging Face `config.json` into the few numbers the decoder needs.

One decoder serves the Llama, Mistral and Qwen2 families; they differ only in
biases, sliding windows and rope scaling, which this module turns into plain
fields. Anything we do not implement is rejected here, loudly, rather than
silently computing different logits.
"""

import json
from pathlib import Path

import msgspec

from ..inference.errors import ModelLoadError

ARCHITECTURES = ("LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM")
ROPE_TYPES = ("default", "linear", "llama3")


class ModelConfig(msgspec.Struct, frozen=True, kw_only=True):
    architecture: str
    vocab_size: int
    hidden_size: int
    intermediate_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    rms_norm_eps: float
    rope_theta: float
    rope_scaling: dict = {}
    max_position_embeddings: int
    tie_word_embeddings: bool
    qkv_bias: bool
    o_bias: bool
    mlp_bias: bool
    sliding_window: int | None = None
    sliding_layers: tuple[bool, ...] = ()  # per layer: does it use the sliding window?
    torch_dtype: str = "float32"
    quant_method: str = ""  # "exl2" when config.json says the weights are EXL2

    @property
    def rope_type(self) -> str:
        return self.rope_scaling.get("rope_type", "default")


def load_model_config(folder: Path) -> ModelConfig:
    path = Path(folder) / "config.json"
    if not path.is_file():
        raise ModelLoadError(f"{folder}: no config.json; point the engine at a Hugging Face model folder")
    try:
        raw = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ModelLoadError(f"{path}: not valid JSON: {e}") from None
    return parse_model_config(raw, source=str(path))


def parse_model_config(raw: dict, source: str = "config.json") -> ModelConfig:
    arch = (raw.get("architectures") or [_arch_from_model_type(raw.get("model_type"))])[0]
    if arch not in ARCHITECTURES:
        raise ModelLoadError(
            f"{source}: architecture {arch!r} is not supported (supported: {', '.join(ARCHITECTURES)})"
        )
    method = (raw.get("quantization_config") or {}).get("quant_method", "?")
    if raw.get("quantization_config") and method != "exl2":
        raise ModelLoadError(f"{source}: quantized weights ({method}) are not supported by the native engine (EXL2 is)")
    if raw.get("hidden_act", "silu") != "silu":
        raise ModelLoadError(f"{source}: hidden_act {raw['hidden_act']!r} is not supported (only silu)")
    try:
        heads = int(raw["num_attention_heads"])
        hidden = int(raw["hidden_size"])
        layers = int(raw["num_hidden_layers"])
        theta, scaling = _rope(raw, source)
        qwen2 = arch == "Qwen2ForCausalLM"
        window = raw.get("sliding_window")
        sliding = _sliding_layers(raw, arch, layers) if window else (False,) * layers
        return ModelConfig(
            architecture=arch,
            vocab_size=int(raw["vocab_size"]),
            hidden_size=hidden,
            intermediate_size=int(raw["intermediate_size"]),
            num_layers=layers,
            num_heads=heads,
            num_kv_heads=int(raw.get("num_key_value_heads") or heads),
            head_dim=int(raw.get("head_dim") or hidden // heads),
            rms_norm_eps=float(raw.get("rms_norm_eps", 1e-6)),
            rope_theta=theta,
            rope_scaling=scaling,
            max_position_embeddings=int(raw.get("max_position_embeddings", 2048)),
            tie_word_embeddings=bool(raw.get("tie_word_embeddings", False)),
            qkv_bias=qwen2 or bool(raw.get("attention_bias", False)),
            o_bias=not qwen2 and bool(raw.get("attention_bias", False)),
            mlp_bias=bool(raw.get("mlp_bias", False)),
            sliding_window=int(window) if any(sliding) else None,
            sliding_layers=sliding,
            torch_dtype=str(raw.get("torch_dtype") or raw.get("dtype") or "float32"),
            quant_method=method if raw.get("quantization_config") else "",
        )
    except KeyError as e:
        raise ModelLoadError(f"{source}: missing required field {e.args[0]!r}") from None
    except (TypeError, ValueError) as e:
        raise ModelLoadError(f"{source}: bad value: {e}") from None


def _arch_from_model_type(model_type: str | None) -> str:
    return {"llama": "LlamaForCausalLM", "mistral": "MistralForCausalLM", "qwen2": "Qwen2ForCausalLM"}.get(
        model_type or "", str(model_type)
    )


def _rope(raw: dict, source: str) -> tuple[float, dict]:
    """Rope theta and scaling, from either the transformers 4 or 5 spelling."""
    params = dict(raw.get("rope_parameters") or raw.get("rope_scaling") or {})
    theta = float(params.pop("rope_theta", raw.get("rope_theta", 10000.0)))
    if "type" in params and "rope_type" not in params:
        params["rope_type"] = params.pop("type")
    kind = params.get("rope_type", "default")
    if kind not in ROPE_TYPES:
        raise ModelLoadError(f"{source}: rope type {kind!r} is not supported (supported: {', '.join(ROPE_TYPES)})")
    return theta, params if kind != "default" else {}


def _sliding_layers(raw: dict, arch: str, layers: int) -> tuple[bool, ...]:
    if raw.get("layer_types"):
        return tuple(kind == "sliding_attention" for kind in raw["layer_types"])
    if arch == "Qwen2ForCausalLM":
        if not raw.get("use_sliding_window"):
            return (False,) * layers
        first = int(raw.get("max_window_layers", layers))
        return tuple(i >= first for i in range(layers))
    return (True,) * layers
