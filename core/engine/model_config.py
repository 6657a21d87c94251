"""Read a Hugging Face `config.json` into the numbers and features the decoder needs.

The architecture picks a family module (`models/<family>.py`), which reads its own
fields; anything no family implements is refused here, with one line naming it and
what is supported, rather than silently computing different logits.
"""

import json
from pathlib import Path

import msgspec

from ..inference.errors import ModelLoadError

# Names only (torch-free, so `models add` can ask without loading torch); `layers.py` implements them.
ACTIVATIONS = ("silu", "gelu_pytorch_tanh", "gelu_new", "gelu")
ROPE_TYPES = ("default", "linear", "llama3", "dynamic", "yarn", "longrope")


class ModelConfig(msgspec.Struct, frozen=True, kw_only=True):
    architecture: str
    family: str = "llama"
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
    rotary_dim: int = 0  # 0: the whole head (Phi-4-mini rotates only a part)
    local_rope_theta: float | None = None  # Gemma 3's sliding layers use their own rope base
    rope_layers: tuple[str, ...] = ()  # per layer: "global", "local" or "" (no rope: SmolLM3)
    max_position_embeddings: int
    tie_word_embeddings: bool
    qkv_bias: bool
    o_bias: bool
    mlp_bias: bool
    hidden_act: str = "silu"
    qk_norm: bool = False  # Qwen 3, Gemma 3: RMSNorm over each head of q and k before rope
    sandwich_norms: bool = False  # Gemma 2/3: norms after attention and MLP, and before the MLP
    norm_plus_one: bool = False  # Gemma: norm weights are stored as w and applied as 1 + w
    embed_scale: float = 1.0  # Gemma multiplies the embeddings by sqrt(hidden_size)
    query_scale: float | None = None  # attention scale when it is not head_dim**-0.5
    attn_softcap: float | None = None
    final_softcap: float | None = None
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
    from .models import family_of, supported_architectures

    arch = (raw.get("architectures") or [architecture_from_model_type(raw.get("model_type"))])[0]
    family = family_of(arch)
    if family is None:
        raise ModelLoadError(
            f"{source}: architecture {arch!r} is not supported (supported: {', '.join(supported_architectures())})"
        )
    method = (raw.get("quantization_config") or {}).get("quant_method", "?")
    if raw.get("quantization_config") and method != "exl2":
        raise ModelLoadError(f"{source}: quantized weights ({method}) are not supported by the native engine (EXL2 is)")
    act = raw.get("hidden_activation") or raw.get("hidden_act") or "silu"
    if act not in ACTIVATIONS:
        raise ModelLoadError(f"{source}: activation {act!r} is not supported (supported: {', '.join(ACTIVATIONS)})")
    try:
        heads = int(raw["num_attention_heads"])
        hidden = int(raw["hidden_size"])
        layers = int(raw["num_hidden_layers"])
        head_dim = int(raw.get("head_dim") or hidden // heads)
        theta, scaling = rope_parameters(raw, source)
        window = raw.get("sliding_window")
        sliding = family.sliding_layers(raw, layers) if window else (False,) * layers
        fields = dict(
            architecture=arch,
            family=family.FAMILY,
            vocab_size=int(raw["vocab_size"]),
            hidden_size=hidden,
            intermediate_size=int(raw["intermediate_size"]),
            num_layers=layers,
            num_heads=heads,
            num_kv_heads=int(raw.get("num_key_value_heads") or heads),
            head_dim=head_dim,
            rms_norm_eps=float(raw.get("rms_norm_eps", 1e-6)),
            rope_theta=theta,
            rope_scaling=scaling,
            rotary_dim=int(head_dim * float(scaling.pop("partial_rotary_factor", raw.get("partial_rotary_factor", 1.0)))),
            rope_layers=("global",) * layers,
            max_position_embeddings=int(raw.get("max_position_embeddings", 2048)),
            tie_word_embeddings=bool(raw.get("tie_word_embeddings", False)),
            qkv_bias=bool(raw.get("attention_bias", False)),
            o_bias=bool(raw.get("attention_bias", False)),
            mlp_bias=bool(raw.get("mlp_bias", False)),
            hidden_act=act,
            sliding_window=int(window) if any(sliding) else None,
            sliding_layers=sliding,
            torch_dtype=str(raw.get("torch_dtype") or raw.get("dtype") or "float32"),
            quant_method=method if raw.get("quantization_config") else "",
        )
        family.read(raw, fields, source)
        _check_rope_factors(fields, source)
        return ModelConfig(**fields)
    except KeyError as e:
        raise ModelLoadError(f"{source}: missing required field {e.args[0]!r}") from None
    except (TypeError, ValueError) as e:
        raise ModelLoadError(f"{source}: bad value: {e}") from None


def _check_rope_factors(fields: dict, source: str) -> None:
    """longrope lists one factor per rotary frequency; a wrong count would fail mid-load."""
    scaling, half = fields["rope_scaling"], fields["rotary_dim"] // 2
    for key in ("short_factor", "long_factor"):
        if scaling.get("rope_type") == "longrope" and len(scaling.get(key) or ()) != half:
            raise ModelLoadError(f"{source}: rope {key} has {len(scaling.get(key) or ())} values, the rotary dims need {half}")


def architecture_from_model_type(model_type: str | None) -> str:
    from .models import MODEL_TYPES

    return MODEL_TYPES.get(model_type or "", str(model_type))


def rope_parameters(raw: dict, source: str, params: dict | None = None) -> tuple[float, dict]:
    """Rope theta and scaling, from either the transformers 4 or 5 spelling."""
    if params is None:
        params = raw.get("rope_parameters") or raw.get("rope_scaling") or {}
    params = dict(params)
    theta = float(params.pop("rope_theta", raw.get("rope_theta", 10000.0)))
    if "type" in params and "rope_type" not in params:
        params["rope_type"] = params.pop("type")
    kind = params.get("rope_type", "default")
    if kind not in ROPE_TYPES:
        raise ModelLoadError(f"{source}: rope type {kind!r} is not supported (supported: {', '.join(ROPE_TYPES)})")
    if kind in ("longrope", "yarn") and "original_max_position_embeddings" not in params:
        params["original_max_position_embeddings"] = raw.get("original_max_position_embeddings") or raw.get(
            "max_position_embeddings", 2048
        )
    if kind == "default":
        return theta, {k: v for k, v in params.items() if k == "partial_rotary_factor"}
    return theta, params
