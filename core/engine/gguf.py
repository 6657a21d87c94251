"""Run a GGUF file (llama.cpp's and Ollama's format): metadata, tokenizer and weights.

Read with the `gguf` package. The metadata becomes a Hugging Face-style config that
`model_config` reads like any other (so the same families and refusals apply); the
tokenizer is built with `tokenizers` from the GGUF vocabulary (byte-level BPE with
merges, or SentencePiece-style tokens with scores); tensors are renamed to Hugging
Face names, llama.cpp's q/k row permutation undone, and quantized weights
(Q8_0, Q4_0, Q4_K, Q5_K, Q6_K and the others the package knows) dequantized once at
load with `gguf.quants`: memory is then that of the dense model, logged at load.
"""

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..inference.backends import ModelInfo
from ..inference.errors import ModelLoadError
from .model_config import ModelConfig, parse_model_config

log = logging.getLogger(__name__)

# GGUF architecture -> (Hugging Face architecture, q/k rows permuted by llama.cpp's converter)
ARCHITECTURES = {
    "llama": ("LlamaForCausalLM", True),
    "qwen2": ("Qwen2ForCausalLM", False),
    "qwen3": ("Qwen3ForCausalLM", False),
}
FLOAT_TYPES = {"F32", "F16", "BF16"}
LAYER_NAMES = {
    "attn_norm": "input_layernorm",
    "ffn_norm": "post_attention_layernorm",
    "attn_q": "self_attn.q_proj",
    "attn_k": "self_attn.k_proj",
    "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj",
    "attn_q_norm": "self_attn.q_norm",
    "attn_k_norm": "self_attn.k_norm",
    "ffn_gate": "mlp.gate_proj",
    "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
}
GLOBAL_NAMES = {"token_embd": "model.embed_tokens", "output_norm": "model.norm", "output": "lm_head"}
# token types (llama.cpp's llama_token_type): 3 control, 4 user-defined, 6 byte
CONTROL, USER_DEFINED = 3, 4
# llama.cpp's pre-tokenizer names -> the split regex of their Hugging Face tokenizers
PRE_TOKENIZER_SPLITS = {
    "llama-bpe": r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
    "qwen2": r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
}


class GGUFFile:
    """One GGUF file, opened (memory-mapped) once."""

    def __init__(self, path: Path):
        from gguf import GGUFReader

        self.path = Path(path)
        try:
            self.reader = GGUFReader(str(self.path))
        except (ValueError, OSError, IndexError) as e:
            raise ModelLoadError(f"{self.path}: not a readable GGUF file ({e})") from None
        self.arch = self.value("general.architecture")
        if self.arch not in ARCHITECTURES:
            raise ModelLoadError(
                f"{self.path}: GGUF architecture {self.arch!r} is not supported (supported: {', '.join(ARCHITECTURES)})"
            )
        self.tensors = {t.name: t for t in self.reader.tensors}
        self.config = parse_model_config(self.hf_config(), source=str(self.path))

    def value(self, key: str, default=None):
        field = self.reader.get_field(key)
        if field is None:
            return default
        return field.contents()

    def hf_config(self) -> dict:
        """The metadata as the config.json transformers would write for the same model."""
        a = self.arch
        need = lambda key: self._required(f"{a}.{key}")  # noqa: E731
        heads = int(need("attention.head_count"))
        hidden = int(need("embedding_length"))
        embed = self.tensors.get("token_embd.weight")
        vocab = self.value(f"{a}.vocab_size") or (int(embed.shape[1]) if embed is not None else len(self._tokens()))
        raw = {
            "architectures": [ARCHITECTURES[a][0]],
            "vocab_size": int(vocab),
            "hidden_size": hidden,
            "intermediate_size": int(need("feed_forward_length")),
            "num_hidden_layers": int(need("block_count")),
            "num_attention_heads": heads,
            "num_key_value_heads": int(self.value(f"{a}.attention.head_count_kv", heads)),
            "head_dim": int(self.value(f"{a}.attention.key_length", hidden // heads)),
            "rms_norm_eps": float(self.value(f"{a}.attention.layer_norm_rms_epsilon", 1e-6)),
            "rope_theta": float(self.value(f"{a}.rope.freq_base", 10000.0)),
            "max_position_embeddings": int(need("context_length")),
            "tie_word_embeddings": "output.weight" not in self.tensors,
            "torch_dtype": {"F32": "float32", "F16": "float16"}.get(self.main_type(), "bfloat16"),
        }
        kind = self.value(f"{a}.rope.scaling.type")
        if kind and kind != "none":
            raw["rope_scaling"] = {
                "rope_type": kind,
                "factor": float(self._required(f"{a}.rope.scaling.factor")),
                "original_max_position_embeddings": int(self.value(f"{a}.rope.scaling.original_context_length", 0))
                or None,
            }
        if a == "llama" and any(n.endswith("attn_q.bias") for n in self.tensors):
            raw["attention_bias"] = True
        return raw

    def _required(self, key: str):
        value = self.value(key)
        if value is None:
            raise ModelLoadError(f"{self.path}: GGUF metadata has no {key}")
        return value

    def _tokens(self) -> list[str]:
        return list(self.value("tokenizer.ggml.tokens") or [])

    # -- weights ------------------------------------------------------------------------------

    def main_type(self) -> str:
        """The weight type of most of the 2-D tensors' bytes (what a user calls the file's quantization)."""
        sizes: dict[str, int] = {}
        for t in self.reader.tensors:
            if len(t.shape) == 2:
                sizes[t.tensor_type.name] = sizes.get(t.tensor_type.name, 0) + int(t.n_bytes)
        return max(sizes, key=sizes.get) if sizes else "F32"

    def iter_tensors(self, dtype) -> Iterator[tuple[str, "object"]]:
        """(Hugging Face name, dense tensor in `dtype`) for every tensor, dequantized as read."""
        import torch
        from gguf import quants

        dense = 0
        for t in self.reader.tensors:
            name = self._hf_name(t.name)
            if t.tensor_type.name in FLOAT_TYPES:
                array = quants.dequantize(t.data, t.tensor_type) if t.tensor_type.name == "BF16" else np.asarray(t.data)
            else:
                try:
                    array = quants.dequantize(t.data, t.tensor_type)
                except NotImplementedError:
                    raise ModelLoadError(f"{self.path}: tensor {t.name} is {t.tensor_type.name}, which cannot be dequantized") from None
            shape = tuple(int(n) for n in reversed(t.shape))
            tensor = torch.from_numpy(np.array(array, dtype=np.float32).reshape(shape)).to(dtype)
            if ARCHITECTURES[self.arch][1] and name.endswith(("q_proj.weight", "k_proj.weight", "q_proj.bias", "k_proj.bias")):
                heads = self.config.num_heads if ".q_proj." in name else self.config.num_kv_heads
                tensor = unpermute(tensor, heads)
            dense += tensor.numel() * tensor.element_size()
            yield name, tensor
        size = self.path.stat().st_size
        log.warning(
            "%s: %s weights dequantized to %s at load: %.2f GB in memory for a %.2f GB file",
            self.path.name, self.main_type(), str(dtype).removeprefix("torch."), dense / 1e9, size / 1e9,
        )

    def _hf_name(self, name: str) -> str:
        base, _, kind = name.rpartition(".")
        if base in GLOBAL_NAMES:
            return f"{GLOBAL_NAMES[base]}.{kind}"
        match = re.fullmatch(r"blk\.(\d+)\.(\w+)", base)
        if match and match[2] in LAYER_NAMES:
            return f"model.layers.{match[1]}.{LAYER_NAMES[match[2]]}.{kind}"
        raise ModelLoadError(f"{self.path}: unexpected GGUF tensor {name!r} for {self.arch}")

    # -- tokenizer ------------------------------------------------------------------------------

    def tokenizer(self):
        """A `Tokenizer` built from the GGUF vocabulary, with the file's chat template and BOS/EOS ids."""
        from .tokenizer import Tokenizer

        tokens = self._tokens()
        if not tokens:
            raise ModelLoadError(f"{self.path}: the GGUF file has no tokenizer.ggml.tokens")
        model = self.value("tokenizer.ggml.model")
        if model == "gpt2":
            hf = self._bpe(tokens)
        elif model == "llama":
            hf = self._sentencepiece(tokens)
        else:
            raise ModelLoadError(f"{self.path}: GGUF tokenizer model {model!r} is not supported (supported: gpt2, llama)")
        bos, eos = self.value("tokenizer.ggml.bos_token_id"), self.value("tokenizer.ggml.eos_token_id")
        eot = self.value("tokenizer.ggml.eot_token_id")
        if bos is not None and self.value("tokenizer.ggml.add_bos_token", model == "llama"):
            from tokenizers import processors

            hf.post_processor = processors.TemplateProcessing(
                single=f"{tokens[bos]} $A", pair=f"{tokens[bos]} $A {tokens[bos]} $B", special_tokens=[(tokens[bos], int(bos))]
            )
        names = {"bos_token": bos, "eos_token": eos}
        return Tokenizer(
            hf,
            eos_token_ids={int(i) for i in (eos, eot) if i is not None},
            bos_token_id=int(bos) if bos is not None else None,
            chat_template=self.value("tokenizer.chat_template"),
            template_tokens={name: tokens[i] for name, i in names.items() if i is not None},
        )

    def _special(self, tokens: list[str]) -> list:
        from tokenizers import AddedToken

        types = list(self.value("tokenizer.ggml.token_type") or [])
        return [
            AddedToken(tok, special=kind == CONTROL, normalized=False)
            for tok, kind in zip(tokens, types)
            if kind in (CONTROL, USER_DEFINED)
        ]

    def _bpe(self, tokens: list[str]):
        from tokenizers import Tokenizer as HFTokenizer
        from tokenizers import Regex, decoders, models, pre_tokenizers

        merges = [tuple(m.split(" ", 1)) for m in self.value("tokenizer.ggml.merges") or []]
        hf = HFTokenizer(models.BPE({t: i for i, t in enumerate(tokens)}, merges, ignore_merges=False))
        split = PRE_TOKENIZER_SPLITS.get(self.value("tokenizer.ggml.pre", "gpt2"))
        if split is None:
            hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        else:
            hf.pre_tokenizer = pre_tokenizers.Sequence(
                [pre_tokenizers.Split(Regex(split), "isolated"), pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]
            )
        hf.decoder = decoders.ByteLevel()
        hf.add_tokens(self._special(tokens))
        return hf

    def _sentencepiece(self, tokens: list[str]):
        """SentencePiece BPE (Llama 2, Mistral): merges ranked by the tokens' scores, byte fallback."""
        from tokenizers import Tokenizer as HFTokenizer
        from tokenizers import decoders, models, normalizers

        scores = list(self.value("tokenizer.ggml.scores") or [0.0] * len(tokens))
        vocab = {t: i for i, t in enumerate(tokens)}
        merges = []
        for token, score in zip(tokens, scores):
            pairs = [(token[:i], token[i:]) for i in range(1, len(token)) if token[:i] in vocab and token[i:] in vocab]
            merges += [(left, right, score) for left, right in sorted(pairs, key=lambda p: (vocab[p[0]], vocab[p[1]]))]
        merges.sort(key=lambda m: m[2], reverse=True)
        unk = self.value("tokenizer.ggml.unknown_token_id", 0)
        hf = HFTokenizer(
            models.BPE(vocab, [(l, r) for l, r, _ in merges], unk_token=tokens[unk], fuse_unk=True, byte_fallback=True)
        )
        hf.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
        hf.decoder = decoders.Sequence(
            [decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0)]
        )
        hf.add_tokens(self._special(tokens))
        return hf


def unpermute(weight, heads: int):
    """Undo convert_hf_to_gguf.py's Llama q/k permutation (rotary halves interleaved) on the rows."""
    rows = weight.shape[0]
    return weight.reshape(heads, rows // heads // 2, 2, *weight.shape[1:]).swapaxes(1, 2).reshape(weight.shape)


def inspect_gguf(path: Path) -> ModelInfo:
    model = GGUFFile(path)
    model.tokenizer()  # refuse an unusable vocabulary now, not when served
    cfg: ModelConfig = model.config
    return ModelInfo(
        architecture=cfg.architecture,
        family=cfg.family,
        format=f"gguf {model.main_type()}",
        size_bytes=Path(path).stat().st_size,
        context_length=cfg.max_position_embeddings,
    )
