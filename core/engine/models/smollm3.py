"""SmolLM3: Llama whose every fourth layer (by `no_rope_layers`) attends without rope."""

from . import llama, qwen2

FAMILY = "smollm3"
ARCHITECTURES = ("SmolLM3ForCausalLM",)
MODEL_TYPES = {"smollm3": "SmolLM3ForCausalLM"}
sliding_layers = qwen2.sliding_layers
layer_shapes, build_layer = llama.layer_shapes, llama.build_layer


def read(raw: dict, fields: dict, source: str) -> None:
    layers = fields["num_layers"]
    uses_rope = raw.get("no_rope_layers")
    if uses_rope is None:
        interval = int(raw.get("no_rope_layer_interval") or 4)
        uses_rope = [int((i + 1) % interval != 0) for i in range(layers)]
    if len(uses_rope) != layers:
        raise ValueError(f"no_rope_layers has {len(uses_rope)} entries for {layers} layers")
    fields.update(rope_layers=tuple("global" if use else "" for use in uses_rope))
