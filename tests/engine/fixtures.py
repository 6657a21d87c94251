"""Builders for engine test fixtures: a real byte-level BPE tokenizer, trained offline.

Tests need a tokenizer that behaves like the ones shipped with real models (byte-level
BPE whose tokens can split a multi-byte UTF-8 character, special tokens, a ChatML chat
template) without downloading anything.  Training on a fixed in-code corpus is
deterministic, so every run gets the same vocabulary and merges.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors, trainers

# Where the engine tests run the engine and the Hugging Face reference: "cpu" (the default) or
# "cuda" (`TOOLSMITH_TEST_DEVICE=cuda python -m pytest tests/engine`); the same tests, one device.
DEVICE = os.environ.get("TOOLSMITH_TEST_DEVICE", "cpu")

BOS_TOKEN = "<s>"
EOS_TOKEN = "<|im_end|>"
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", EOS_TOKEN, BOS_TOKEN]

# Written over several lines with block tags so that rendering depends on jinja2's
# trim_blocks/lstrip_blocks, exactly as Hugging Face renders it.
CHATML_TEMPLATE = """\
{% for message in messages %}
    {% if loop.first and message['role'] != 'system' %}
<|im_start|>system
You are a helpful assistant.<|im_end|>
    {% endif %}
<|im_start|>{{ message['role'] }}
{{ message['content'] }}<|im_end|>
{% endfor %}
{% if add_generation_prompt %}
<|im_start|>assistant
{% endif %}
"""

CORPUS = [
    "The quick brown fox jumps over the lazy dog. ",
    "Rename every photo in this folder by the date it was taken. ",
    "def main(argv):\n    for name in sorted(argv):\n        print(name.upper())\n",
    "Count the lines of each .csv file and write a summary to report.txt. ",
    "Café, naïve, façade, jalapeño, smörgåsbord, crème brûlée, Übermäßig, déjà vu. ",
    "Ελληνικά γράμματα, русский текст, עברית, العربية. ",
    "你好，世界！今天天气很好。我们一起去公园散步吧。",
    "日本語のテキストです。東京は大きな都市です。",
    "한국어 문장도 있습니다. ",
    "Emoji: 🙂 🎉 👍🏽 🚀 ❤️ 👨‍👩‍👧 🇫🇷 ✨ ",
    "Math: ∑ x² ≤ ∞, π ≈ 3.14159, √2, ±1, → ⇒ ∀ ∃. ",
    "Quotes: “double” ‘single’ «guillemets» — dash … ellipsis. ",
]


def _corpus() -> list[str]:
    """Repeat the sentences in varying combinations so BPE has frequent pairs to merge."""
    lines = []
    for i in range(60):
        a, b, c = CORPUS[i % len(CORPUS)], CORPUS[(i * 5 + 1) % len(CORPUS)], CORPUS[(i * 7 + 3) % len(CORPUS)]
        lines.append(f"{a}{b}{c} {i}")
    return lines


def build_tokenizer(vocab_size: int = 512, add_bos_token: bool = False) -> Tokenizer:
    """Train a byte-level BPE whose vocabulary (added tokens included) is exactly ``vocab_size``."""
    minimum = 256 + len(SPECIAL_TOKENS)
    if vocab_size < minimum:
        raise ValueError(f"vocab_size must be at least {minimum} (256 bytes + special tokens), got {vocab_size}")
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(_corpus(), trainer)
    padding = vocab_size - tokenizer.get_vocab_size()
    tokenizer.add_special_tokens([AddedToken(f"<|reserved_{i}|>", special=True) for i in range(padding)])
    if add_bos_token:
        bos_id = tokenizer.token_to_id(BOS_TOKEN)
        tokenizer.post_processor = processors.TemplateProcessing(
            single=f"{BOS_TOKEN} $A", pair=f"{BOS_TOKEN} $A {BOS_TOKEN} $B", special_tokens=[(BOS_TOKEN, bos_id)]
        )
    else:
        tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    assert tokenizer.get_vocab_size() == vocab_size
    return tokenizer


def write_tokenizer(folder: Path, vocab_size: int = 512, add_bos_token: bool = False) -> None:
    """Write ``tokenizer.json`` and ``tokenizer_config.json`` (BOS/EOS, ChatML template) into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    build_tokenizer(vocab_size, add_bos_token).save(str(folder / "tokenizer.json"))
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": BOS_TOKEN,
        "eos_token": EOS_TOKEN,
        "pad_token": "<|endoftext|>",
        "add_bos_token": add_bos_token,
        "model_max_length": 4096,
        "chat_template": CHATML_TEMPLATE,
    }
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False), encoding="utf-8")


# The model shape the benchmarks use (SmolLM2-135M: 134.5M parameters, tied), as
# LlamaConfig keyword arguments; weights are random, so nothing is downloaded.
SMOLLM2_135M = dict(
    hidden_size=576,
    intermediate_size=1536,
    num_hidden_layers=30,
    num_attention_heads=9,
    num_key_value_heads=3,
    vocab_size=49152,
    tie_word_embeddings=True,
    max_position_embeddings=4096,
    bos_token_id=None,
    eos_token_id=None,
    pad_token_id=0,
)

