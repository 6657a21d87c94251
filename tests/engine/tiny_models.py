"""Tiny random models of every family the engine runs, built with transformers and saved as real model folders."""

from pathlib import Path

import torch
from fixtures import write_tokenizer
from transformers import (
    Gemma2Config,
    Gemma2ForCausalLM,
    Gemma3ForCausalLM,
    Gemma3TextConfig,
    LlamaConfig,
    LlamaForCausalLM,
    MistralConfig,
    MistralForCausalLM,
    Qwen2Config,
    Qwen2ForCausalLM,
    Qwen3Config,
    Qwen3ForCausalLM,
    Phi3Config,
    Phi3ForCausalLM,
    SmolLM3Config,
    SmolLM3ForCausalLM,
)

VOCAB = 512
COMMON = dict(
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=512,
    bos_token_id=None,
    eos_token_id=None,
)

ODD = dict(
    hidden_size=72,
    intermediate_size=100,
    num_hidden_layers=2,
    num_attention_heads=3,
    num_key_value_heads=1,
    max_position_embeddings=512,
    bos_token_id=None,
    eos_token_id=None,
)

# name -> (model class, config) covering every family feature the engine implements
VARIANTS = {
    "llama-tied": lambda: (LlamaForCausalLM, LlamaConfig(**COMMON, vocab_size=VOCAB, tie_word_embeddings=True)),
    "llama3-rope-bias": lambda: (
        LlamaForCausalLM,
        LlamaConfig(
            **COMMON,
            vocab_size=VOCAB + 21,  # model vocab larger than the tokenizer's, and not a multiple of 32
            tie_word_embeddings=False,
            attention_bias=True,
            mlp_bias=True,
            rope_scaling={
                "rope_type": "llama3",
                "factor": 8.0,
                "low_freq_factor": 1.0,
                "high_freq_factor": 4.0,
                "original_max_position_embeddings": 32,
                "rope_theta": 500000.0,
            },
        ),
    ),
    "llama-linear-rope": lambda: (
        LlamaForCausalLM,
        LlamaConfig(**COMMON, vocab_size=VOCAB, rope_scaling={"rope_type": "linear", "factor": 4.0, "rope_theta": 10000.0}),
    ),
    "mistral-sliding": lambda: (
        MistralForCausalLM,
        MistralConfig(**COMMON, vocab_size=VOCAB, sliding_window=8, head_dim=16),
    ),
    "qwen2-bias": lambda: (Qwen2ForCausalLM, Qwen2Config(**COMMON, vocab_size=VOCAB, tie_word_embeddings=True)),
    "llama-yarn": lambda: (
        LlamaForCausalLM,
        LlamaConfig(
            **COMMON,
            vocab_size=VOCAB,
            rope_scaling={"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32, "rope_theta": 10000.0},
        ),
    ),
    "llama-dynamic": lambda: (
        LlamaForCausalLM,
        LlamaConfig(**COMMON, vocab_size=VOCAB, rope_scaling={"rope_type": "dynamic", "factor": 2.0, "rope_theta": 10000.0}),
    ),
    # odd sizes: 3 query heads over 1 KV head of 24, a 100-wide MLP, a vocabulary not a multiple of 8
    "qwen3-odd": lambda: (
        Qwen3ForCausalLM,
        Qwen3Config(**ODD, vocab_size=VOCAB + 19, head_dim=24, tie_word_embeddings=False),
    ),
    "qwen3-sliding": lambda: (
        Qwen3ForCausalLM,
        Qwen3Config(
            **COMMON, vocab_size=VOCAB, tie_word_embeddings=True, use_sliding_window=True, sliding_window=8,
            max_window_layers=1, layer_types=["full_attention", "sliding_attention"],
        ),
    ),
    "gemma2": lambda: (
        Gemma2ForCausalLM,
        Gemma2Config(
            **COMMON, vocab_size=VOCAB, head_dim=16, query_pre_attn_scalar=24, sliding_window=8,
            attn_logit_softcapping=0.02, final_logit_softcapping=1.5, pad_token_id=0,
        ),
    ),
    "gemma3": lambda: (
        Gemma3ForCausalLM,
        Gemma3TextConfig(
            **{**COMMON, "num_hidden_layers": 3}, vocab_size=VOCAB, head_dim=16, query_pre_attn_scalar=20,
            sliding_window=8, sliding_window_pattern=2, pad_token_id=0,
            rope_parameters={
                "full_attention": {"rope_type": "linear", "factor": 2.0, "rope_theta": 100000.0},
                "sliding_attention": {"rope_type": "default", "rope_theta": 500.0},
            },
        ),
    ),
    "phi3-longrope": lambda: (
        Phi3ForCausalLM,
        Phi3Config(
            **{**COMMON, "max_position_embeddings": 1024}, vocab_size=VOCAB, pad_token_id=0, original_max_position_embeddings=64,
            rope_parameters={
                "rope_type": "longrope", "rope_theta": 10000.0, "partial_rotary_factor": 0.75,
                "short_factor": [1.0 + 0.1 * i for i in range(6)], "long_factor": [2.0 + 0.5 * i for i in range(6)],
                "original_max_position_embeddings": 64,
            },
        ),
    ),
    # generation crosses the original context (20): new tokens switch to the long factors
    "phi3-longrope-crossing": lambda: (
        Phi3ForCausalLM,
        Phi3Config(
            **COMMON, vocab_size=VOCAB, pad_token_id=0, original_max_position_embeddings=20,
            rope_parameters={
                "rope_type": "longrope", "rope_theta": 10000.0,
                "short_factor": [1.0 + 0.1 * i for i in range(8)], "long_factor": [3.0 + 0.5 * i for i in range(8)],
                "original_max_position_embeddings": 20,
            },
        ),
    ),
    "smollm3": lambda: (
        SmolLM3ForCausalLM,
        SmolLM3Config(
            **{**COMMON, "num_hidden_layers": 3}, vocab_size=VOCAB, no_rope_layers=[1, 0, 1], pad_token_id=None,
            tie_word_embeddings=True,
        ),
    ),
}
# transformers switches the whole prompt to long factors when it is longer than the original context
PROMPT_WIDE_ROPE = {"phi3-longrope-crossing"}
# Soft-capping is not in SDPA: these are compared with transformers' eager attention.
EAGER = {"gemma2", "gemma3"}


def build(folder: Path, variant: str, seed: int = 0, **config_overrides):
    """Save a random model of `variant` plus the fixture tokenizer into `folder`; return the HF model."""
    torch.manual_seed(seed)
    cls, config = VARIANTS[variant]()
    for key, value in config_overrides.items():
        setattr(config, key, value)
    if variant in EAGER:
        config._attn_implementation = "eager"
    model = cls(config).eval()
    with torch.no_grad():  # random init of norms is all ones; perturb so a norm bug shows in the logits
        for name, param in model.named_parameters():
            if "norm" in name or name.endswith("bias"):
                param.add_(torch.randn_like(param) * 0.1)
    model.save_pretrained(folder, safe_serialization=True)
    write_tokenizer(folder, vocab_size=VOCAB)
    return model


def prompt_ids(n: int, seed: int = 1, vocab: int = VOCAB) -> list[int]:
    return torch.randint(0, vocab, (n,), generator=torch.Generator().manual_seed(seed)).tolist()


def hf_logits(model, ids: list[int]) -> torch.Tensor:
    """Logits at every position, on the model's device."""
    with torch.no_grad():
        return model(torch.tensor([ids], device=model.device)).logits[0]
