"""`toolsmith models`: folders are validated before they are registered; pull fails clearly offline."""

import json
import math
import struct
from pathlib import Path

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


@pytest.mark.parametrize(
    "spec, revision, expected",
    [
        ("org/model", None, ("org/model", None, None)),
        ("org/model", "main", ("org/model", "main", None)),
        ("org/model-exl2:4.0bpw", None, ("org/model-exl2", "4.0bpw", None)),
        ("org/model-GGUF:Q4_K_M", None, ("org/model-GGUF", None, "Q4_K_M")),
        ("org/model-GGUF:iq4_xs", None, ("org/model-GGUF", None, "iq4_xs")),
        ("org/model-GGUF:BF16", "v2", ("org/model-GGUF", "v2", "BF16")),
    ],
)
def test_pull_variants_are_parsed(spec, revision, expected):
    target = models.parse_pull(spec, revision)
    assert (target.repo, target.revision, target.gguf) == expected


@pytest.mark.parametrize(
    "spec, revision, message",
    [
        ("model", None, "is not a repository name"),
        ("org/model:large", None, "unknown variant 'large'"),
        ("org/model:4.0bpw", "main", "drop --revision main"),
    ],
)
def test_bad_pull_variants_are_refused(spec, revision, message):
    with pytest.raises(ModelError, match=message):
        models.parse_pull(spec, revision)


def test_one_gguf_file_is_picked_by_its_quantization():
    files = ["README.md", "model-Q4_K_M.gguf", "model-Q4_K_S.gguf", "model-q8_0.gguf", "sub/model.Q5_K_M.gguf"]
    assert models.pick_gguf(files, "Q4_K_M") == "model-Q4_K_M.gguf"
    assert models.pick_gguf(files, "Q8_0") == "model-q8_0.gguf"
    assert models.pick_gguf(files, "Q5_K_M") == "sub/model.Q5_K_M.gguf"
    with pytest.raises(ModelError, match="no Q6_K GGUF file in the repository \\(it has: model-Q4_K_M.gguf, "):
        models.pick_gguf(files, "Q6_K")
    with pytest.raises(ModelError, match="split GGUF files are not supported"):
        models.pick_gguf(["m-Q4_0-00001-of-00002.gguf", "m-Q4_0-00002-of-00002.gguf"], "Q4_0")


@pytest.mark.parametrize("spec", ["someone/some-model:4.0bpw", "someone/some-model-GGUF:Q4_K_M"])
def test_pull_of_a_variant_offline_fails_clearly(run_cli, spec):
    result = run_cli("models", "pull", spec, env={"HF_HUB_OFFLINE": "1"})
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: could not download {spec}")


def test_pull_checks_the_architecture_before_any_weights(monkeypatch):
    """config.json alone decides: an unsupported model downloads nothing more and registers nothing."""
    import huggingface_hub

    def config_only(repo, filename, revision=None, local_dir=None, **options):
        path = Path(local_dir) / filename
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({**CONFIG, "architectures": ["GPT2LMHeadModel"]}))
        return str(path)

    def no_weights(**kwargs):
        raise AssertionError("weights were downloaded")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", config_only)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", no_weights)
    with pytest.raises(ModelError, match="'GPT2LMHeadModel' is not supported .*; nothing else was downloaded"):
        models.pull("someone/gpt2")
    assert models.load_registry().models == {}
