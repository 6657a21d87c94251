"""Tiny EXL2 models written by our quantizer run on the native engine exactly like Hugging Face
does with the same (dequantized) weights; damaged folders fail naming the tensor and the problem."""

import copy
import json
import re
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file
from test_model_logits import engine_logits, hf_greedy

from toolsmith.core.engine import LLM, LLMEngine, SamplingParams, exl2_int4
from toolsmith.core.engine.exl2 import Exl2Error, PackedWeight, iter_exl2
from toolsmith.core.engine.exl2_writer import quantize_model
from toolsmith.core.engine.model_config import load_model_config
from toolsmith.core.inference.errors import ModelLoadError
from toolsmith.core.tools import model_registry as models

from fixtures import DEVICE
from test_exl2_int4 import exact_weight
from tiny_models import hf_logits, prompt_ids

# variant -> (bits, head bits): tied and untied heads, biases, a vocabulary padded to 32, bit mixes
QUANTIZED = {"llama-tied": (4.0, 6), "llama3-rope-bias": (3.5, 4), "qwen2-bias": (5.5, 8)}


@pytest.fixture(scope="session")
def exl2_model(tiny_model, tmp_path_factory):
    """exl2_model(variant) -> (EXL2 folder, HF model holding our dequantized weights);
    exl2_model(variant, exact=True) -> the HF model holding the unrounded products instead."""
    built = {}

    def get(variant, exact=False):
        if variant not in built:
            src, hf = tiny_model(variant)
            dst = tmp_path_factory.mktemp("exl2") / variant
            bits, head_bits = QUANTIZED[variant]
            quantize_model(src, dst, bits=bits, head_bits=head_bits)
            built[variant] = (dst, with_weights(hf, dst))
            built[variant, "exact"] = with_weights(hf, dst, exact=True)
        return built[variant, "exact"] if exact else built[variant]

    return get


def with_weights(hf, folder, exact=False):
    """A copy of the HF model with the weights our reader dequantizes, head untied from the embedding;
    built on the CPU, then put on the test device beside `hf`. `exact`: the products (q - z) * s not
    rounded to fp16, which is what the int4 kernel multiplies by."""
    model = copy.deepcopy(hf).cpu()
    mode = "packed" if exact else "dequantize"
    tensors = {
        name: exact_weight(t.layers[0]).float() if isinstance(t, PackedWeight) else t.float()
        for name, t in iter_exl2(folder, load_model_config(folder), torch.float32, mode)
    }
    model.lm_head.weight = torch.nn.Parameter(tensors.pop("lm_head.weight"))  # EXL2 stores a quantized head
    model.config.tie_word_embeddings = False
    model.load_state_dict(tensors, strict=False)
    loaded = dict(model.state_dict())
    assert all(torch.equal(loaded[name], t) for name, t in tensors.items())
    return model.to(hf.device)


INT4 = pytest.param("int4", marks=pytest.mark.skipif(DEVICE != "cpu", reason="the int4 kernel is torch's CPU one"))


@pytest.mark.parametrize("mode", ["dequantize", "packed", INT4])
@pytest.mark.parametrize("variant", sorted(QUANTIZED))
def test_logits_equal_hf_with_dequantized_weights(exl2_model, variant, mode):
    """int4 is compared with the unrounded products it multiplies by: the same weights
    as dequantize's before their one rounding to fp16."""
    folder, hf = exl2_model(variant)
    if mode == "int4":
        hf = exl2_model(variant, exact=True)
    engine = LLMEngine(folder, dtype="float32", device=DEVICE, block_size=4, exl2_weights=mode)
    ids = prompt_ids(29)
    torch.testing.assert_close(engine_logits(engine, ids, chunk=len(ids)), hf_logits(hf, ids), atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("mode", ["dequantize", "packed", INT4])
def test_greedy_generation_matches_hf(exl2_model, mode):
    folder, hf = exl2_model("qwen2-bias")
    hf = exl2_model("qwen2-bias", exact=True) if mode == "int4" else hf
    ids = prompt_ids(11, seed=4)
    [out] = LLM(folder, dtype="float32", device=DEVICE, block_size=3, exl2_weights=mode).generate(
        [ids], SamplingParams(temperature=0, max_tokens=20, ignore_eos=True)
    )
    assert out.token_ids == hf_greedy(hf, ids, 20)


def test_eight_bit_model_stays_close_to_the_original(tiny_model, exl2_model, tmp_path):
    src, hf = tiny_model("llama-tied")
    quantize_model(src, tmp_path / "q8", bits=8, head_bits=8)
    ids = prompt_ids(20, seed=5)
    original = hf_logits(hf, ids)
    q8 = engine_logits(LLMEngine(tmp_path / "q8", dtype="float32", device=DEVICE), ids, len(ids))
    q4 = engine_logits(LLMEngine(exl2_model("llama-tied")[0], dtype="float32", device=DEVICE), ids, len(ids))
    q8_error, q4_error = (q8 - original).abs().mean(), (q4 - original).abs().mean()
    assert q8_error < 0.01 * original.abs().mean() and q8_error < q4_error / 8  # each bit halves the error
    assert torch.equal(q8.argmax(-1), original.argmax(-1))


def test_quantized_folder_is_laid_out_like_exllamav2s(exl2_model):
    folder, _ = exl2_model("llama3-rope-bias")
    assert [p.name for p in folder.glob("*.safetensors")] == ["output.safetensors"]
    tensors = load_file(folder / "output.safetensors")
    config = json.loads((folder / "config.json").read_text())
    assert config["quantization_config"] | {} == {**config["quantization_config"], "quant_method": "exl2", "bits": 3.5, "head_bits": 4}
    assert tensors["lm_head.q_weight"].shape[1] == 544  # vocabulary 533 padded to a multiple of 32
    assert tensors["model.embed_tokens.weight"].dtype == torch.float16
    q = "model.layers.0.self_attn.q_proj."
    dtypes = {part: tensors[q + part].dtype for part in ("q_weight", "q_scale", "q_scale_max", "q_groups", "q_invperm", "bias")}
    assert dtypes == {
        "q_weight": torch.int32,
        "q_scale": torch.int32,
        "q_scale_max": torch.float16,
        "q_groups": torch.int16,
        "q_invperm": torch.int32,
        "bias": torch.float16,
    }
    for names in (("q_proj", "k_proj", "v_proj"), ("gate_proj", "up_proj")):  # one input, one act-order
        kind = "self_attn" if names[0] == "q_proj" else "mlp"
        perms = [tensors[f"model.layers.1.{kind}.{n}.q_invperm"] for n in names]
        assert all(torch.equal(perms[0], p) for p in perms[1:])
    assert not torch.equal(tensors["model.layers.1.mlp.down_proj.q_invperm"], torch.arange(128, dtype=torch.int32))
    bits = tensors[q + "q_groups"][0::2].tolist()
    assert bits == sorted(bits, reverse=True) and set(bits) == {4, 3}
    assert (folder / "tokenizer.json").is_file()


# -- damaged folders ----------------------------------------------------------------------

LAYER = "model.layers.1.mlp.down_proj"


def rewrite(folder, change):
    path = folder / "output.safetensors"
    tensors = load_file(path)
    change(tensors)
    save_file(tensors, str(path), metadata={"format": "pt"})


def set_tensor(name, value):
    return lambda t: t.__setitem__(name, value(t[name]) if callable(value) else value)


BREAKAGES = {
    "wrong dtype": (set_tensor(f"{LAYER}.q_scale_max", lambda t: t.float()), f"{LAYER}.q_scale_max has dtype float32"),
    "missing part": (lambda t: t.pop(f"{LAYER}.q_scale"), f"{LAYER}.q_scale is missing"),
    "rows cut off q_weight": (
        set_tensor(f"{LAYER}.q_weight", lambda t: t[:-4].clone()),
        f"{LAYER}.q_groups covers 96 rows but the layer has 128 input features (q_weight has 12 rows)",
    ),
    "groups not covering the rows": (
        set_tensor(f"{LAYER}.q_groups", lambda t: torch.tensor([8, 0], dtype=torch.int16)),  # 4-bit rows read as 8-bit
        f"{LAYER}.q_groups covers 64 rows but the layer has 128 input features",
    ),
    "group not starting at row 0": (
        set_tensor(f"{LAYER}.q_groups", lambda t: torch.tensor([4, 1], dtype=torch.int16)),
        f"{LAYER}.q_groups: group 0 spans q_weight rows 1..16",
    ),
    "bits not allowed": (set_tensor(f"{LAYER}.q_groups", lambda t: torch.cat([t[:1] * 0 + 7, t[1:]])), "group 0 has 7 bits"),
    "bad permutation": (
        set_tensor(f"{LAYER}.q_invperm", lambda t: torch.cat([t[:1], t[:-1]])),
        f"{LAYER}.q_invperm is not a permutation of 0..127",
    ),
    "mixed EXL2 and dense": (
        lambda t: t.__setitem__(f"{LAYER}.weight", torch.zeros(64, 128, dtype=torch.float16)),
        f"layer {LAYER} has both EXL2 tensors and a dense {LAYER}.weight",
    ),
    "scale rows": (set_tensor(f"{LAYER}.q_scale", lambda t: t[:, :-1].clone()), f"{LAYER}.q_scale has 7 columns"),
}


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_damaged_folders_name_the_tensor_and_the_problem(exl2_model, tmp_path, breakage):
    folder = tmp_path / "broken"
    shutil.copytree(exl2_model("llama-tied")[0], folder)
    change, message = BREAKAGES[breakage]
    rewrite(folder, change)
    with pytest.raises(Exl2Error, match=re.escape(message)):
        LLMEngine(folder, dtype="float32", device=DEVICE)


def test_truncated_file_names_the_tensor(exl2_model, tmp_path):
    folder = tmp_path / "cut"
    shutil.copytree(exl2_model("llama-tied")[0], folder)
    path = folder / "output.safetensors"
    path.write_bytes(path.read_bytes()[:-1000])
    with pytest.raises(Exl2Error, match=r"output\.safetensors: tensor \S+ is truncated .* the file is incomplete"):
        LLMEngine(folder)


def test_other_quantization_methods_are_still_refused(exl2_model, tmp_path):
    folder = tmp_path / "gptq"
    shutil.copytree(exl2_model("llama-tied")[0], folder)
    config = json.loads((folder / "config.json").read_text())
    config["quantization_config"] = {"quant_method": "gptq"}
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelLoadError, match=r"quantized weights \(gptq\) are not supported"):
        LLMEngine(folder)


def test_exl2_config_over_dense_weights_is_refused(tiny_model, tmp_path):
    folder = tmp_path / "mislabelled"
    shutil.copytree(tiny_model("llama-tied")[0], folder)
    config = json.loads((folder / "config.json").read_text())
    config["quantization_config"] = {"quant_method": "exl2", "bits": 4.0}
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelLoadError, match=r"config\.json says the weights are EXL2, but no tensor is quantized"):
        LLMEngine(folder)


def test_unknown_weights_mode_is_refused(exl2_model):
    with pytest.raises(ModelLoadError, match="exl2_weights must be one of auto, int4, packed, dequantize"):
        LLMEngine(exl2_model("llama-tied")[0], exl2_weights="lazy")


def test_auto_keeps_weights_packed_for_the_int4_kernel_on_cpu(exl2_model):
    engine = LLMEngine(exl2_model("llama-tied")[0], dtype="float32", device=DEVICE)
    assert engine.exl2_weights == ("int4" if DEVICE == "cpu" else "dequantize")


def test_without_the_int4_kernel_auto_dequantizes_and_int4_is_refused(exl2_model, monkeypatch):
    monkeypatch.setattr(exl2_int4, "available", lambda dtype: False)
    folder = exl2_model("llama-tied")[0]
    assert LLMEngine(folder, dtype="float32").exl2_weights == "dequantize"
    with pytest.raises(ModelLoadError, match=r"^exl2_weights=int4 needs torch's int4 CPU kernel, .* use exl2_weights=auto"):
        LLMEngine(folder, dtype="float32", exl2_weights="int4")


# -- toolsmith models quantize ------------------------------------------------------------


def test_cli_quantize_then_add(run_cli, tiny_model, tmp_path):
    src, _ = tiny_model("qwen2-bias")
    done = run_cli("models", "quantize", src, tmp_path / "q", "--bits", "4.5", "--head-bits", "6", "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["layers"] == 2 * 7 + 1 and 4.5 < summary["bits_per_weight"] < 5.5
    added = run_cli("models", "add", tmp_path / "q", "--json")
    assert json.loads(added.stdout)["format"] == "exl2"
    info = models.inspect(tmp_path / "q")
    assert (info.architecture, info.family, info.format) == ("Qwen2ForCausalLM", "qwen2", "exl2")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--bits", "9"], "--bits must be between 2 and 8, got 9.0"),
        (["--head-bits", "7"], "--head-bits must be one of 2, 3, 4, 5, 6, 8, got 7"),
        (["--dst-exists"], "already exists and is not empty; choose a new folder"),
        (["--src-exl2"], "is already EXL2; quantize the original"),
        (["--src-missing"], "is not a model folder"),
    ],
)
def test_cli_quantize_errors_are_one_line(run_cli, tiny_model, exl2_model, tmp_path, args, message):
    src, _ = tiny_model("llama-tied")
    dst = tmp_path / "q"
    if args == ["--dst-exists"]:
        dst.mkdir()
        (dst / "notes.txt").write_text("mine")
        args = []
    elif args == ["--src-exl2"]:
        src, args = exl2_model("llama-tied")[0], []
    elif args == ["--src-missing"]:
        src, args = tmp_path / "nowhere", []
    done = run_cli("models", "quantize", src, dst, *args)
    assert done.returncode == 1
    assert message in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert (dst / "notes.txt").exists() or not dst.exists()


def test_quantize_reports_its_progress(tiny_model, tmp_path):
    from toolsmith.core.engine.exl2_writer import quantize_model

    src, _ = tiny_model("llama-tied")
    seen = []
    quantize_model(src, tmp_path / "q", progress=lambda done, total: seen.append((done, total)))
    total = seen[0][1]
    assert total > 1 and seen[0] == (0, total) and seen[-1] == (total, total)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)  # it only moves forward


def test_loading_dense_weights_reports_progress(tiny_model):
    from toolsmith.core.base import progress
    from toolsmith.core.engine.weights import iter_safetensors

    src, _ = tiny_model("llama-tied")
    seen = []
    with progress.listening(lambda done, total: seen.append((done, total))):
        names = [name for name, _ in iter_safetensors(src)]
    assert seen == [(n, len(names)) for n in range(1, len(names) + 1)]
    assert [name for name, _ in iter_safetensors(src)]  # nobody listening: nothing to tell, loads the same
