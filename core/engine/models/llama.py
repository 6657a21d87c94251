"""Llama 1-3.x and Mistral: the base family the others extend.

Separate q/k/v and gate/up projections (fused into one matmul each at load),
optional biases, RMSNorm before attention and MLP, SiLU gating, and every rope
scaling kind `layers.Rope` knows.
"""


FAMILY = "llama"
ARCHITECTURES = ("LlamaForCausalLM", "MistralForCausalLM")
MODEL_TYPES = {"llama": "LlamaForCausalLM", "mistral": "MistralForCausalLM"}

QKV = ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj")
GATE_UP = ("mlp.gate_proj", "mlp.up_proj")


def sliding_layers(raw: dict, layers: int) -> tuple[bool, ...]:
    if raw.get("layer_types"):
        return tuple(kind == "sliding_attention" for kind in raw["layer_types"])
    return (True,) * layers


def read(raw: dict, fields: dict, source: str) -> None:
    """Llama reads nothing beyond the common fields."""


def linear_shapes(cfg) -> dict[str, tuple[int, ...]]:
    hidden, inter, d = cfg.hidden_size, cfg.intermediate_size, cfg.head_dim
    q, kv = cfg.num_heads * d, cfg.num_kv_heads * d
    return {
        "self_attn.q_proj": (q, hidden), "self_attn.k_proj": (kv, hidden), "self_attn.v_proj": (kv, hidden),
        "self_attn.o_proj": (hidden, q), "mlp.gate_proj": (inter, hidden), "mlp.up_proj": (inter, hidden),
        "mlp.down_proj": (hidden, inter),
    }


def biased(cfg) -> set[str]:
    names = set(QKV) if cfg.qkv_bias else set()
    names |= {"self_attn.o_proj"} if cfg.o_bias else set()
    return names | ({"mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"} if cfg.mlp_bias else set())


def norm_shapes(cfg) -> dict[str, tuple[int, ...]]:
    return {"input_layernorm.weight": (cfg.hidden_size,), "post_attention_layernorm.weight": (cfg.hidden_size,)}


def layer_shapes(cfg) -> dict[str, tuple[int, ...]]:
    """The tensors of one layer, by name under `model.layers.N.`."""
    linears = linear_shapes(cfg)
    shapes = {name + ".weight": shape for name, shape in linears.items()}
    shapes |= {name + ".bias": (linears[name][0],) for name in biased(cfg)}
    return shapes | norm_shapes(cfg)


def build_layer(cfg, i: int, w):
    """`w` hands out this layer's tensors: w(name), w.cat(*names), w.opt(*names), w.norm(name)."""
    from ..layers import Layer
    from ..linear import Linear

    return Layer(
        qkv=Linear(w.cat(*(n + ".weight" for n in QKV)), w.opt(*(n + ".bias" for n in QKV))),
        o=Linear(w("self_attn.o_proj.weight"), w.opt("self_attn.o_proj.bias")),
        gate_up=Linear(w.cat(*(n + ".weight" for n in GATE_UP)), w.opt(*(n + ".bias" for n in GATE_UP))),
        down=Linear(w("mlp.down_proj.weight"), w.opt("mlp.down_proj.bias")),
        input_norm=w.norm("input_layernorm.weight"),
        post_norm=w.norm("post_attention_layernorm.weight"),
        window=cfg.sliding_window if cfg.sliding_layers[i] else None,
        rope=cfg.rope_layers[i],
    )
