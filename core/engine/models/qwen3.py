"""Qwen 3 (dense): Llama plus an RMSNorm over each head of q and k (before rope), no biases by default."""

from . import llama, qwen2

FAMILY = "qwen3"
ARCHITECTURES = ("Qwen3ForCausalLM",)
MODEL_TYPES = {"qwen3": "Qwen3ForCausalLM"}
sliding_layers = qwen2.sliding_layers


def read(raw: dict, fields: dict, source: str) -> None:
    fields.update(qk_norm=True, o_bias=bool(raw.get("attention_bias", False)))


def layer_shapes(cfg) -> dict[str, tuple[int, ...]]:
    d = (cfg.head_dim,)
    return llama.layer_shapes(cfg) | {"self_attn.q_norm.weight": d, "self_attn.k_norm.weight": d}


def build_layer(cfg, i: int, w):
    layer = llama.build_layer(cfg, i, w)
    layer.q_norm, layer.k_norm = w.norm("self_attn.q_norm.weight"), w.norm("self_attn.k_norm.weight")
    return layer
