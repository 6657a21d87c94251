"""Gemma 3 (text): Gemma 2's sandwich norms and scaling, plus q/k norms, a sliding pattern
(five local layers per global one by default) and a separate rope base for local layers."""

from ...inference.errors import ModelLoadError
from ..model_config import rope_parameters
from . import gemma2

FAMILY = "gemma3"
ARCHITECTURES = ("Gemma3ForCausalLM",)
MODEL_TYPES = {"gemma3_text": "Gemma3ForCausalLM"}


def sliding_layers(raw: dict, layers: int) -> tuple[bool, ...]:
    if raw.get("layer_types"):
        return gemma2.sliding_layers(raw, layers)
    pattern = int(raw.get("sliding_window_pattern") or raw.get("_sliding_window_pattern") or 6)
    return tuple(bool((i + 1) % pattern) for i in range(layers))


def read(raw: dict, fields: dict, source: str) -> None:
    gemma2.read(raw, fields, source)
    nested = raw.get("rope_parameters") or {}
    if "full_attention" in nested:  # transformers 5: one rope per layer type
        theta, scaling = rope_parameters(raw, source, nested["full_attention"])
        local_theta, local = rope_parameters(raw, source, nested.get("sliding_attention") or {})
    else:  # transformers 4: rope_theta/rope_scaling for global layers, rope_local_base_freq for local ones
        theta, scaling = rope_parameters(raw, source, raw.get("rope_scaling") or {})
        local_theta, local = float(raw.get("rope_local_base_freq", 10000.0)), {}
    if local.get("rope_type", "default") != "default":
        raise ModelLoadError(f"{source}: rope scaling on Gemma 3's local layers is not supported")
    window = fields["sliding_layers"]
    fields.update(
        qk_norm=True,
        rope_theta=theta,
        rope_scaling=scaling,
        local_rope_theta=local_theta,
        rope_layers=tuple("local" if sliding else "global" for sliding in window) if any(window) else fields["rope_layers"],
        attn_softcap=gemma2._cap(raw.get("attn_logit_softcapping")),
        final_softcap=gemma2._cap(raw.get("final_logit_softcapping")),
    )


def layer_shapes(cfg) -> dict[str, tuple[int, ...]]:
    d = (cfg.head_dim,)
    return gemma2.layer_shapes(cfg) | {"self_attn.q_norm.weight": d, "self_attn.k_norm.weight": d}


def build_layer(cfg, i: int, w):
    layer = gemma2.build_layer(cfg, i, w)
    layer.q_norm, layer.k_norm = w.norm("self_attn.q_norm.weight"), w.norm("self_attn.k_norm.weight")
    return layer


