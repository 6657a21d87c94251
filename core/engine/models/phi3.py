"""Phi-3 and Phi-4-mini: Llama with q/k/v and gate/up stored fused (`qkv_proj`, `gate_up_proj`),
longrope scaling and, on Phi-4-mini, rope over only part of each head."""

from . import llama

FAMILY = "phi3"
ARCHITECTURES = ("Phi3ForCausalLM",)
MODEL_TYPES = {"phi3": "Phi3ForCausalLM"}
sliding_layers = llama.sliding_layers


def read(raw: dict, fields: dict, source: str) -> None:
    fields.update(qkv_bias=False, o_bias=False, mlp_bias=False)


def layer_shapes(cfg) -> dict[str, tuple[int, ...]]:
    hidden, inter, d = cfg.hidden_size, cfg.intermediate_size, cfg.head_dim
    q, kv = cfg.num_heads * d, cfg.num_kv_heads * d
    return {
        "self_attn.qkv_proj.weight": (q + 2 * kv, hidden),
        "self_attn.o_proj.weight": (hidden, q),
        "mlp.gate_up_proj.weight": (2 * inter, hidden),
        "mlp.down_proj.weight": (hidden, inter),
    } | llama.norm_shapes(cfg)


def build_layer(cfg, i: int, w):
    from ..layers import Layer
    from ..linear import Linear

    return Layer(
        qkv=Linear(w("self_attn.qkv_proj.weight")),
        o=Linear(w("self_attn.o_proj.weight")),
        gate_up=Linear(w("mlp.gate_up_proj.weight")),
        down=Linear(w("mlp.down_proj.weight")),
        input_norm=w.norm("input_layernorm.weight"),
        post_norm=w.norm("post_attention_layernorm.weight"),
        window=cfg.sliding_window if cfg.sliding_layers[i] else None,
        rope=cfg.rope_layers[i],
    )
