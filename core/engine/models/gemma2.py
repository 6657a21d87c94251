"""Gemma 2: (1 + w) RMSNorms around both sublayers, scaled embeddings, GeLU-tanh gating,
soft-capped attention scores and final logits, alternating sliding-window layers and
`query_pre_attn_scalar` as the attention scale."""

from . import llama

FAMILY = "gemma2"
ARCHITECTURES = ("Gemma2ForCausalLM",)
MODEL_TYPES = {"gemma2": "Gemma2ForCausalLM"}
SANDWICH = ("pre_feedforward_layernorm.weight", "post_feedforward_layernorm.weight")


def sliding_layers(raw: dict, layers: int) -> tuple[bool, ...]:
    if raw.get("layer_types"):
        return llama.sliding_layers(raw, layers)
    return tuple(i % 2 == 0 for i in range(layers))


def read(raw: dict, fields: dict, source: str) -> None:
    fields.update(
        sandwich_norms=True,
        norm_plus_one=True,
        embed_scale=fields["hidden_size"] ** 0.5,
        query_scale=float(raw.get("query_pre_attn_scalar") or fields["head_dim"]) ** -0.5,
        attn_softcap=_cap(raw.get("attn_logit_softcapping")),
        final_softcap=_cap(raw.get("final_logit_softcapping")),
        tie_word_embeddings=bool(raw.get("tie_word_embeddings", True)),
    )


def _cap(value) -> float | None:
    return float(value) if value else None


def layer_shapes(cfg) -> dict[str, tuple[int, ...]]:
    return llama.layer_shapes(cfg) | {name: (cfg.hidden_size,) for name in SANDWICH}


def build_layer(cfg, i: int, w):
    layer = llama.build_layer(cfg, i, w)
    layer.pre_mlp_norm, layer.post_mlp_norm = (w.norm(name) for name in SANDWICH)
    return layer
