"""Tiny random Llama/Mistral/Qwen2 models, built with transformers and saved as real model folders."""

from pathlib import Path

import torch
from fixtures import write_tokenizer
from transformers import (
    LlamaConfig,
    LlamaForCausalLM,
    MistralConfig,
    MistralForCausalLM,
    Qwen2Config,
    Qwen2ForCausalLM,
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
}


def build(folder: Path, variant: str, seed: int = 0, **config_overrides):
    """Save a random model of `variant` plus the fixture tokenizer into `folder`; return the HF model."""
    torch.manual_seed(seed)
    cls, config = VARIANTS[variant]()
    for key, value in config_overrides.items():
        setattr(config, key, value)
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
