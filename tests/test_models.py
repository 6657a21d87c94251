"""`toolsmith models`: folders are validated before they are registered; pull fails clearly offline."""

import json
import math
import struct

import pytest

from toolsmith.core.tools import model_registry as models
from toolsmith.core.tools.model_registry import ModelError


def safetensors(path, tensors: dict[str, tuple[str, tuple[int, ...]]]):
    """A real safetensors file with one zero tensor per entry (dtype and shape per name)."""
    header, offset = {}, 0
    for name, (dtype, shape) in tensors.items():
        size = {"F32": 4, "F16": 2, "BF16": 2, "I32": 4}[dtype] * math.prod(shape)
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"\0" * offset)


CONFIG = {
    "architectures": ["LlamaForCausalLM"], "hidden_size": 4, "intermediate_size": 8, "num_hidden_layers": 1,
    "num_attention_heads": 2, "vocab_size": 16, "tie_word_embeddings": True, "max_position_embeddings": 256,
}
LLAMA_TENSORS = {
    "model.embed_tokens.weight": (16, 4), "model.norm.weight": (4,),
    **{f"model.layers.0.{n}.weight": (4, 4) for n in ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj")},
    "model.layers.0.mlp.gate_proj.weight": (8, 4), "model.layers.0.mlp.up_proj.weight": (8, 4),
    "model.layers.0.mlp.down_proj.weight": (4, 8),
    "model.layers.0.input_layernorm.weight": (4,), "model.layers.0.post_attention_layernorm.weight": (4,),
}


@pytest.fixture
def folder(tmp_path):
    f = tmp_path / "smol"
    f.mkdir()
    (f / "config.json").write_text(json.dumps(CONFIG))
    (f / "tokenizer.json").write_text("{}")
    safetensors(f / "model.safetensors", {name: ("BF16", shape) for name, shape in LLAMA_TENSORS.items()})
    return f


def test_add_list_use_rm(run_cli, folder, tmp_path):
    added = run_cli("models", "add", folder, "--json")
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["format"] == "bfloat16"
    other = tmp_path / "other"
    other.mkdir()
    for name in ("config.json", "tokenizer.json"):
        (other / name).write_text((folder / name).read_text())
    safetensors(other / "model.safetensors", {"model.layers.0.mlp.up_proj.q_weight": ("I32", (2,))})
    assert json.loads(run_cli("models", "add", other, "--json").stdout)["format"] == "exl2"
    listed = json.loads(run_cli("models", "list", "--json").stdout)
    assert [(m["name"], m["default"]) for m in listed] == [("smol", True), ("other", False)]
    assert (listed[0]["family"], listed[0]["context_length"]) == ("llama", 256)
    assert listed[0]["size_bytes"] == sum(p.stat().st_size for p in folder.iterdir())
    table = run_cli("models", "list").stdout
    assert "family" in table and "context" in table and "256" in table
    assert run_cli("models", "use", "other").returncode == 0
    assert [m["name"] for m in json.loads(run_cli("models", "list", "--json").stdout) if m["default"]] == ["other"]
    assert run_cli("models", "rm", "other").returncode == 0
    assert folder.exists() and other.exists()  # the files are the user's; only the entry goes
    assert [m["name"] for m in json.loads(run_cli("models", "list", "--json").stdout)] == ["smol"]


@pytest.mark.parametrize(
    "breakage, message",
    [
        (lambda f: (f / "tokenizer.json").unlink(), "the model folder needs a Hugging Face tokenizer.json"),
        (
            lambda f: ((f / "tokenizer.json").unlink(), (f / "tokenizer.model").write_bytes(b"\0")),
            "has only a SentencePiece tokenizer.model; Toolsmith needs tokenizer.json",
        ),
        (lambda f: (f / "config.json").write_text("{nope"), "config.json: not valid JSON"),
        (lambda f: (f / "model.safetensors").unlink(), "no *.safetensors weights"),
        (
            lambda f: (f / "config.json").write_text(json.dumps({**CONFIG, "architectures": ["GPT2LMHeadModel"]})),
            "architecture 'GPT2LMHeadModel' is not supported (supported: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM",
        ),
        (lambda f: (f / "config.json").write_text(json.dumps({**CONFIG, "intermediate_size": 6})), "config.json implies (6, 4)"),
        (lambda f: (f / "config.json").write_text(json.dumps({**CONFIG, "num_hidden_layers": 2})), "missing model.layers.1"),
        (lambda f: (f / "model.safetensors").write_bytes(b"\x01"), "is not a safetensors file"),
    ],
)
def test_add_refuses_broken_folders(run_cli, folder, breakage, message):
    breakage(folder)
    result = run_cli("models", "add", folder)
    assert result.returncode == 1 and message in result.stderr and result.stderr.count("\n") == 1
    assert models.load_registry().models == {}


def test_add_refuses_a_file_and_a_duplicate(run_cli, folder):
    assert "is not a folder or a .gguf file" in run_cli("models", "add", folder / "config.json").stderr
    run_cli("models", "add", folder)
    assert "already registered" in run_cli("models", "add", folder).stderr


def test_unknown_model_name(run_cli):
    result = run_cli("models", "use", "ghost")
    assert result.returncode == 1 and "no model named 'ghost'" in result.stderr


def test_pull_offline_fails_clearly(run_cli):
    result = run_cli("models", "pull", "someone/some-model", env={"HF_HUB_OFFLINE": "1"})
    assert result.returncode == 1
    assert result.stderr.startswith("error: could not download someone/some-model")
    assert "toolsmith models add PATH" in result.stderr


def test_configured_model_that_does_not_exist(monkeypatch):
    from toolsmith.core.base import config

    monkeypatch.setenv("TOOLSMITH_ENGINE__MODEL", "nowhere-model")
    with pytest.raises(ModelError, match="neither a registered model nor a folder"):
        models.open_engine(config.load())


def test_no_model_means_no_engine():
    from toolsmith.core.base import config

    assert models.open_engine(config.load()) is None
