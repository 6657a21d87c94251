"""`toolsmith models`: folders are validated before they are registered; pull fails clearly offline."""

import json
import struct

import pytest

from toolsmith.core.tools import model_registry as models
from toolsmith.core.tools.model_registry import ModelError


def safetensors(path, tensors: dict[str, str]):
    """A real safetensors file with one tiny tensor per entry (dtype per name)."""
    header, offset = {}, 0
    for name, dtype in tensors.items():
        size = {"F32": 4, "F16": 2, "BF16": 2, "I32": 4}[dtype]
        header[name] = {"dtype": dtype, "shape": [2], "data_offsets": [offset, offset + 2 * size]}
        offset += 2 * size
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"\0" * offset)


@pytest.fixture
def folder(tmp_path):
    f = tmp_path / "smol"
    f.mkdir()
    (f / "config.json").write_text(json.dumps({"architectures": ["LlamaForCausalLM"], "model_type": "llama"}))
    (f / "tokenizer.json").write_text("{}")
    safetensors(f / "model.safetensors", {"model.embed_tokens.weight": "BF16", "model.norm.weight": "BF16"})
    return f


def test_add_list_use_rm(run_cli, folder, tmp_path):
    added = run_cli("models", "add", folder, "--json")
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["format"] == "bfloat16"
    other = tmp_path / "other"
    other.mkdir()
    for name in ("config.json", "tokenizer.json"):
        (other / name).write_text((folder / name).read_text())
    safetensors(other / "model.safetensors", {"model.layers.0.mlp.up_proj.q_weight": "I32"})
    assert json.loads(run_cli("models", "add", other, "--json").stdout)["format"] == "exl2"
    listed = json.loads(run_cli("models", "list", "--json").stdout)
    assert [(m["name"], m["default"]) for m in listed] == [("smol", True), ("other", False)]
    assert run_cli("models", "use", "other").returncode == 0
    assert [m["name"] for m in json.loads(run_cli("models", "list", "--json").stdout) if m["default"]] == ["other"]
    assert run_cli("models", "rm", "other").returncode == 0
    assert folder.exists() and other.exists()  # the files are the user's; only the entry goes
    assert [m["name"] for m in json.loads(run_cli("models", "list", "--json").stdout)] == ["smol"]


@pytest.mark.parametrize(
    "breakage, message",
    [
        (lambda f: (f / "tokenizer.json").unlink(), "has no tokenizer.json"),
        (lambda f: (f / "config.json").write_text("{nope"), "config.json is not valid JSON"),
        (lambda f: (f / "model.safetensors").unlink(), "has no *.safetensors"),
        (lambda f: (f / "model.safetensors").write_bytes(b"\x01"), "is not a safetensors file"),
    ],
)
def test_add_refuses_broken_folders(run_cli, folder, breakage, message):
    breakage(folder)
    result = run_cli("models", "add", folder)
    assert result.returncode == 1 and message in result.stderr and result.stderr.count("\n") == 1
    assert models.load_registry().models == {}


def test_add_refuses_a_file_and_a_duplicate(run_cli, folder):
    assert "is not a folder" in run_cli("models", "add", folder / "config.json").stderr
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
