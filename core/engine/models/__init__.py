"""One module per model family, over the shared layers in `layers.py`.

A family module says which architectures it serves, reads its own `config.json`
fields (`read`), names and shapes its tensors (`layer_shapes`) and assembles a
layer from them (`build_layer`); the forward loop in `model.py` is shared.
Adding a family is one module here plus its entry in `FAMILIES`.
"""

from types import ModuleType

from . import gemma2, gemma3, llama, phi3, qwen2, qwen3, smollm3

FAMILIES: tuple[ModuleType, ...] = (llama, qwen2, qwen3, gemma2, gemma3, phi3, smollm3)
BY_ARCHITECTURE = {arch: family for family in FAMILIES for arch in family.ARCHITECTURES}
MODEL_TYPES = {t: arch for family in FAMILIES for t, arch in family.MODEL_TYPES.items()}


def family_of(architecture: str) -> ModuleType | None:
    return BY_ARCHITECTURE.get(architecture)


def family_named(name: str) -> ModuleType:
    return next(f for f in FAMILIES if f.FAMILY == name)


def supported_architectures() -> list[str]:
    return list(BY_ARCHITECTURE)


def expected_shapes(cfg) -> dict[str, tuple[int, ...]]:
    """Every tensor the model's family expects, by Hugging Face name, with its shape."""
    shapes = {"model.embed_tokens.weight": (cfg.vocab_size, cfg.hidden_size), "model.norm.weight": (cfg.hidden_size,)}
    shapes["lm_head.weight"] = (cfg.vocab_size, cfg.hidden_size)  # optional when tied
    layer = family_named(cfg.family).layer_shapes(cfg)
    for i in range(cfg.num_layers):
        shapes |= {f"model.layers.{i}.{name}": shape for name, shape in layer.items()}
    return shapes
