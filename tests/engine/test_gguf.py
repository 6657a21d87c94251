"""GGUF files written from random Hugging Face models run with transformers' logits.

Each file is written with the `gguf` package's writer the way llama.cpp's converter
writes it (tensor names, q/k rows permuted for Llama, a byte-level BPE vocabulary with
merges). Weights are quantized with the package's Python quantizers where it has them
(F16, BF16, Q8_0, Q4_0); for the K-quants, which it can only dequantize, rows of random
blocks with sane scales are written. The reference is the transformers model holding the
weights the file decodes to, computed without the engine's reader. A SentencePiece-style
vocabulary is checked against transformers' own GGUF tokenizer converter.
"""

import json

import numpy as np
import pytest
import torch
from fixtures import DEVICE, write_tokenizer
from gguf import GGMLQuantizationType, GGUFWriter, quants
from tiny_models import VOCAB, hf_logits, prompt_ids
from transformers import LlamaConfig, LlamaForCausalLM, Qwen3Config, Qwen3ForCausalLM

from toolsmith.core.engine import LLM, LLMEngine, ModelLoadError, SamplingParams
from toolsmith.core.engine.tokenizer import Tokenizer
from toolsmith.core.tools import model_registry

# K-quant blocks cover 256 values of a row, so every input width is 256
SHAPE = dict(
    hidden_size=256, intermediate_size=256, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
    max_position_embeddings=256, bos_token_id=None, eos_token_id=None, vocab_size=VOCAB,
)
# bytes of one block, and where its float16 scales sit (to be set to sane values)
# (its int8 sub-block scales make Q6_K's weights ~30x larger for one scale: it gets a smaller one)
K_BLOCKS = {"Q4_K": (144, [0, 2], 2e-3), "Q5_K": (176, [0, 2], 2e-3), "Q6_K": (210, [208], 5e-5)}
GGUF_NAMES = {
    "model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight", "lm_head.weight": "output.weight",
    "input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm", "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output",
    "self_attn.q_norm": "attn_q_norm", "self_attn.k_norm": "attn_k_norm",
    "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down",
}


def gguf_name(hf_name: str) -> str:
    if hf_name in GGUF_NAMES:
        return GGUF_NAMES[hf_name]
    _, _, layer, rest = hf_name.split(".", 3)
    module, kind = rest.rsplit(".", 1)
    return f"blk.{layer}.{GGUF_NAMES[module]}.{kind}"


def permute(rows: np.ndarray, heads: int) -> np.ndarray:
    """convert_hf_to_gguf.py's Llama q/k permutation, on rows (of values or of quantized blocks)."""
    return rows.reshape(heads, 2, rows.shape[0] // heads // 2, *rows.shape[1:]).swapaxes(1, 2).reshape(rows.shape)


def encode(weight: np.ndarray, kind: str, rng) -> tuple[np.ndarray, np.ndarray]:
    """(what the file stores, the float32 weight it decodes to)."""
    qtype = GGMLQuantizationType[kind]
    if kind == "F32":
        return weight, weight
    if kind not in K_BLOCKS:
        stored = quants.quantize(weight, qtype)
        return stored, quants.dequantize(stored, qtype).astype(np.float32)
    size, scales, top = K_BLOCKS[kind]
    blocks = rng.integers(0, 256, (weight.shape[0], weight.shape[1] // 256, size), dtype=np.uint8)
    for at in scales:
        blocks[..., at : at + 2] = rng.uniform(top / 20, top, blocks.shape[:2]).astype(np.float16)[..., None].view(np.uint8)
    stored = blocks.reshape(weight.shape[0], -1)
    return stored, quants.dequantize(stored, qtype).astype(np.float32)


def write_gguf(path, hf, arch: str, kind: str, tokenizer_folder, seed: int = 0, vocabulary=None):
    """Write `hf` as a GGUF of weight type `kind`; load the decoded weights back into `hf` (the reference)."""
    cfg = hf.config
    rng = np.random.default_rng(seed)
    writer = GGUFWriter(str(path), arch)
    writer.add_context_length(cfg.max_position_embeddings)
    writer.add_embedding_length(cfg.hidden_size)
    writer.add_block_count(cfg.num_hidden_layers)
    writer.add_feed_forward_length(cfg.intermediate_size)
    writer.add_head_count(cfg.num_attention_heads)
    writer.add_head_count_kv(cfg.num_key_value_heads)
    writer.add_key_length(cfg.head_dim)
    writer.add_value_length(cfg.head_dim)
    writer.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    writer.add_rope_freq_base(cfg.rope_parameters["rope_theta"])
    (vocabulary or add_vocabulary)(writer, tokenizer_folder)
    decoded = {}
    for name, tensor in hf.state_dict().items():
        if name == "lm_head.weight" and cfg.tie_word_embeddings:
            continue
        weight = tensor.float().numpy()
        stored, back = encode(weight, kind, rng) if weight.ndim == 2 else (weight, weight)
        decoded[name] = torch.from_numpy(back.copy())
        if arch == "llama" and name.endswith(("q_proj.weight", "k_proj.weight")):
            heads = cfg.num_attention_heads if "q_proj" in name else cfg.num_key_value_heads
            stored = permute(stored, heads)
        raw = None if stored is weight or kind in ("F32",) or weight.ndim == 1 else GGMLQuantizationType[kind]
        writer.add_tensor(gguf_name(name), stored, raw_dtype=raw)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    hf.load_state_dict(decoded, strict=False)
    return hf


def add_vocabulary(writer: GGUFWriter, folder) -> None:
    """The fixture's byte-level BPE as llama.cpp's converter writes a gpt2-style vocabulary."""
    data = json.loads((folder / "tokenizer.json").read_text())
    vocab = {**data["model"]["vocab"], **{t["content"]: t["id"] for t in data["added_tokens"]}}
    tokens = sorted(vocab, key=vocab.get)
    special = {t["content"] for t in data["added_tokens"] if t["special"]}
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("gpt2")
    writer.add_token_list(tokens)
    writer.add_token_types([3 if t in special else 1 for t in tokens])
    writer.add_token_merges([m if isinstance(m, str) else " ".join(m) for m in data["model"]["merges"]])
    writer.add_eos_token_id(vocab["<|im_end|>"])
    writer.add_bos_token_id(vocab["<s>"])
    writer.add_add_bos_token(False)
    writer.add_chat_template(json.loads((folder / "tokenizer_config.json").read_text())["chat_template"])


def random_model(arch: str, seed: int = 0):
    torch.manual_seed(seed)
    if arch == "llama":
        hf = LlamaForCausalLM(LlamaConfig(**SHAPE, tie_word_embeddings=False))
    else:
        hf = Qwen3ForCausalLM(Qwen3Config(**SHAPE, head_dim=64, tie_word_embeddings=True))
    with torch.no_grad():
        for name, param in hf.named_parameters():
            if "norm" in name:
                param.add_(torch.randn_like(param) * 0.1)
    return hf.eval()


@pytest.fixture(scope="module")
def vocabulary(tmp_path_factory):
    folder = tmp_path_factory.mktemp("vocab")
    write_tokenizer(folder, vocab_size=VOCAB)
    return folder


@pytest.mark.parametrize("kind", ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K"])
@pytest.mark.parametrize("arch", ["llama", "qwen3"])
def test_gguf_logits_and_greedy_match_transformers(tmp_path, vocabulary, arch, kind):
    path = tmp_path / f"tiny-{kind}.gguf"
    hf = write_gguf(path, random_model(arch), arch, kind, vocabulary).to(DEVICE)
    engine = LLMEngine(path, dtype="float32", device=DEVICE, block_size=4)
    ids = prompt_ids(20)
    from test_model_logits import engine_logits, hf_greedy

    torch.testing.assert_close(engine_logits(engine, ids, chunk=len(ids)), hf_logits(hf, ids), atol=1e-4, rtol=1e-4)
    [out] = LLM(path, dtype="float32", device=DEVICE, block_size=4).generate(
        [ids], SamplingParams(temperature=0, max_tokens=8, ignore_eos=True)
    )
    assert out.token_ids == hf_greedy(hf, ids, 8)


def test_gguf_tokenizer_and_chat_template_equal_the_original(tmp_path, vocabulary):
    path = tmp_path / "tiny.gguf"
    write_gguf(path, random_model("qwen3"), "qwen3", "F16", vocabulary)
    ours, original = LLMEngine(path, dtype="float32").tokenizer, Tokenizer.from_folder(vocabulary)
    text = "Rename every photo — Café 你好 🙂 <|im_start|>user"
    assert ours.encode(text) == original.encode(text)
    assert ours.decode(ours.encode(text), skip_special_tokens=False) == text
    assert ours.decode(ours.encode(text)) == original.decode(original.encode(text))
    messages = [{"role": "user", "content": "hi"}]
    assert ours.apply_chat_template(messages) == original.apply_chat_template(messages)
    assert ours.eos_token_ids == {original.token_to_id("<|im_end|>")}


def test_models_add_registers_a_gguf_file_with_its_type(tmp_path, vocabulary):
    path = tmp_path / "tiny-q8.gguf"
    write_gguf(path, random_model("llama"), "llama", "Q8_0", vocabulary)
    entry = model_registry.add(path)
    assert (entry.name, entry.family, entry.format, entry.context_length) == ("tiny-q8", "llama", "gguf Q8_0", 256)
    assert entry.size_bytes == path.stat().st_size


def test_unsupported_gguf_architecture_is_refused_and_not_registered(tmp_path):
    path = tmp_path / "other.gguf"
    writer = GGUFWriter(str(path), "mamba")
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    with pytest.raises(ModelLoadError, match="GGUF architecture 'mamba' is not supported \\(supported: llama, qwen2, qwen3\\)"):
        LLMEngine(path)
    with pytest.raises(model_registry.ModelError, match="'mamba' is not supported"):
        model_registry.add(path)
    assert model_registry.load_registry().models == {}


def add_sentencepiece_vocabulary(writer: GGUFWriter, _folder) -> None:
    """A Llama 2-style SentencePiece vocabulary: byte tokens, pieces ranked by score, BOS added."""
    words = ["▁", "e", "t", "a", "o", "n", "▁t", "he", "▁the", "▁a", "an", "▁an", "d", "▁and", "r", "s", "i", "l", "c"]
    words += ["h", "w", "in", "er", "▁w", "▁s", "on", "en", "▁c", "es", "ll", "▁h", "at", "or", "is", "it", "▁in", "▁is"]
    tokens = ["<unk>", "<s>", "</s>", *(f"<0x{i:02X}>" for i in range(256)), *words]
    scores = [0.0] * 259 + [-float(i) for i in range(len(words))]
    types = [2, 3, 3] + [6] * 256 + [1] * len(words)
    padding = VOCAB - len(tokens)
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens + [f"<pad{i}>" for i in range(padding)])
    writer.add_token_scores(scores + [-1000.0] * padding)
    writer.add_token_types(types + [4] * padding)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_unk_token_id(0)
    writer.add_add_bos_token(True)


def test_gguf_sentencepiece_vocabulary_encodes_as_transformers_reads_it(tmp_path):
    """The reference is transformers' own GGUF tokenizer converter, a separate implementation."""
    from transformers import AutoTokenizer

    path = tmp_path / "spm.gguf"
    write_gguf(path, random_model("llama"), "llama", "F16", None, vocabulary=add_sentencepiece_vocabulary)
    ours = LLMEngine(path, dtype="float32").tokenizer
    reference = AutoTokenizer.from_pretrained(tmp_path, gguf_file="spm.gguf")
    for text in ["the cat and the hat", "Hello wörld 🙂 in it", "xyz\n\tq  two  spaces"]:
        assert ours.encode(text) == reference.encode(text)
        assert ours.decode(ours.encode(text)) == text
    assert ours.bos_token_id == 1 and ours.eos_token_ids == {2}
