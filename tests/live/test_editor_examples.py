"""The editor configurations in examples/editors point at what Toolsmith really serves."""

import json
import re
import tomllib
from pathlib import Path

import yaml

from toolsmith.core.base.config import ServerConfig
from toolsmith.core.frontends.cli import cli

EDITORS = Path(__file__).parents[2] / "examples" / "editors"
DEFAULT = ServerConfig()
BASE_URL = f"http://{DEFAULT.host}:{DEFAULT.port}/v1"


def test_continue_uses_the_served_openai_api():
    config = yaml.safe_load((EDITORS / "vscode" / "continue-config.yaml").read_text())
    for model in config["models"]:
        assert (model["provider"], model["apiBase"]) == ("openai", BASE_URL)
        assert model["apiKey"] == "${{ secrets.TOOLSMITH_API_KEY }}"
    assert [m["roles"] for m in config["models"]] == [["chat", "edit", "apply"], ["autocomplete"]]


def test_zed_uses_the_served_openai_api_and_the_key_variable_the_server_reads():
    providers = json.loads((EDITORS / "zed" / "settings.json").read_text())["language_models"]["openai_compatible"]
    assert list(providers) == ["Toolsmith"]  # Zed reads the key from TOOLSMITH_API_KEY, as `toolsmith serve` does
    assert providers["Toolsmith"]["api_url"] == BASE_URL


def test_neovim_uses_the_served_api_and_real_commands():
    lua = (EDITORS / "neovim" / "toolsmith.lua").read_text()
    assert f'url = "http://{DEFAULT.host}:{DEFAULT.port}"' in lua
    assert 'chat_url = "/v1/chat/completions"' in lua
    assert 'cmd = { "toolsmith", "lsp" }' in lua
    assert 'api_key = "cmd:toolsmith serve --show-key"' in lua


def test_helix_starts_the_language_server_command():
    config = tomllib.loads((EDITORS / "helix" / "languages.toml").read_text())
    server = config["language-server"]["toolsmith"]
    assert (server["command"], server["args"]) == ("toolsmith", ["lsp"])
    assert all("toolsmith" in language["language-servers"] for language in config["language"])


def test_every_command_the_examples_mention_exists():
    commands = cli.list_commands(None)
    text = "\n".join(p.read_text() for p in EDITORS.rglob("*") if p.is_file())
    mentioned = set(re.findall(r"[`\"(:]toolsmith ([a-z]+)", text))  # `toolsmith CMD`, "toolsmith CMD", $(toolsmith CMD
    assert {"lsp", "serve"} <= mentioned <= set(commands), mentioned - set(commands)
