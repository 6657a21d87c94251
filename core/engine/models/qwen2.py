"""Qwen 2 / 2.5: Llama with q/k/v biases (and none on o), sliding windows from `max_window_layers`."""

from . import llama

FAMILY = "qwen2"
ARCHITECTURES = ("Qwen2ForCausalLM",)
MODEL_TYPES = {"qwen2": "Qwen2ForCausalLM"}
layer_shapes, build_layer = llama.layer_shapes, llama.build_layer


def sliding_layers(raw: dict, layers: int) -> tuple[bool, ...]:
    if not raw.get("use_sliding_window"):
        return (False,) * layers
    if raw.get("layer_types"):
        return llama.sliding_layers(raw, layers)
    first = int(raw.get("max_window_layers", layers))
    return tuple(i >= first for i in range(layers))


def read(raw: dict, fields: dict, source: str) -> None:
    fields.update(qkv_bias=True, o_bias=False)
