"""The editor configurations in examples/editors point at what Toolsmith really serves."""

import json
import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

from toolsmith.core.base.config import ServerConfig
from toolsmith.core.frontends.http.security import KEY_ENV
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


def test_codecompanion_uses_v18_interactions_and_adapters_it_defines():
    lua = (EDITORS / "neovim" / "toolsmith.lua").read_text()
    assert "interactions = {" in lua and "strategies =" not in lua  # v18 renamed strategies to interactions
    http = re.search(r"http = \{.*?\n    \},", lua, re.DOTALL).group(0)
    defined = set(re.findall(r"^        ([a-z_]+) = function", http, re.MULTILINE))
    used = set(re.findall(r'\{ adapter = "([a-z_]+)" \}', lua))
    assert used == {"toolsmith"} and used <= defined  # every interaction names an adapter under adapters.http


def test_avante_provider_names_the_endpoint_model_and_key_variable():
    lua = (EDITORS / "neovim" / "toolsmith.lua").read_text()
    provider = re.search(r"providers = \{\n      toolsmith = \{(.*?)\n      \},", lua, re.DOTALL).group(1)
    fields = dict(re.findall(r"^        ([a-z_]+) = (.+?),$", provider, re.MULTILINE))
    assert fields["__inherited_from"] == '"openai"' and fields["endpoint"] == f'"{BASE_URL}"'
    assert fields["model"] == "model"  # $TOOLSMITH_MODEL or the example's name
    assert fields["api_key_name"] == f'"{KEY_ENV}"'  # the variable `toolsmith serve` reads its key from
    assert 'provider = "toolsmith"' in lua


# Helix's own language-servers lists (languages.toml of release 25.07.1): the example
# must keep them, since a user's [[language]] entry replaces the list.
HELIX_DEFAULTS = {
    "python": ["ty", "ruff", "jedi", "pylsp"],
    "bash": ["bash-language-server"],
    "toml": ["taplo", "tombi"],
}


def test_helix_adds_toolsmith_and_keeps_the_default_servers():
    config = tomllib.loads((EDITORS / "helix" / "languages.toml").read_text())
    server = config["language-server"]["toolsmith"]
    assert (server["command"], server["args"]) == ("toolsmith", ["lsp"])
    assert {language["name"]: language["language-servers"] for language in config["language"]} == {
        name: [*servers, "toolsmith"] for name, servers in HELIX_DEFAULTS.items()
    }


def test_every_command_the_examples_mention_exists():
    commands = cli.list_commands(None)
    text = "\n".join(p.read_text() for p in EDITORS.rglob("*") if p.is_file())
    mentioned = set(re.findall(r"[`\"(:]toolsmith ([a-z]+)", text))  # `toolsmith CMD`, "toolsmith CMD", $(toolsmith CMD
    assert {"lsp", "serve"} <= mentioned <= set(commands), mentioned - set(commands)


# Stand-ins for codecompanion.nvim and avante.nvim that record what the example sets up,
# then resolve each interaction's adapter the way codecompanion does (adapters.http[name]).
RECORD_SETUP = """
local seen = {}
package.preload["codecompanion"] = function() return { setup = function(c) seen.codecompanion = c end } end
package.preload["codecompanion.adapters"] = function()
  return { extend = function(base, opts) return { base = base, opts = opts } end }
end
package.preload["avante"] = function() return { setup = function(c) seen.avante = c end } end
dofile(vim.env.EXAMPLE)
local cc = seen.codecompanion
local resolved = {}
for kind, interaction in pairs(cc.interactions) do
  resolved[kind] = cc.adapters.http[interaction.adapter]()
end
vim.fn.writefile({ vim.fn.json_encode({ resolved = resolved, avante = seen.avante }) }, vim.env.PROBE_OUT)
vim.cmd("qa!")
"""


@pytest.mark.skipif(shutil.which("nvim") is None, reason="Neovim is not installed here (Debian: apt-get install neovim)")
def test_neovim_example_resolves_its_adapters_in_a_real_neovim(tmp_path):
    probe, out = tmp_path / "probe.lua", tmp_path / "out.json"
    probe.write_text(RECORD_SETUP)
    env = {**os.environ, "EXAMPLE": str(EDITORS / "neovim" / "toolsmith.lua"), "PROBE_OUT": str(out), "TOOLSMITH_MODEL": "tiny"}
    result = subprocess.run(["nvim", "--headless", "--clean", "-S", str(probe)], env=env, capture_output=True, text=True, timeout=60)
    assert out.exists(), result.stderr
    seen = json.loads(out.read_text())
    assert set(seen["resolved"]) == {"chat", "inline", "cmd"}
    for adapter in seen["resolved"].values():
        assert adapter["base"] == "openai_compatible"
        assert adapter["opts"]["env"]["url"] == f"http://{DEFAULT.host}:{DEFAULT.port}"
        assert adapter["opts"]["schema"]["model"]["default"] == "tiny"
    provider = seen["avante"]["providers"][seen["avante"]["provider"]]
    assert (provider["__inherited_from"], provider["endpoint"], provider["model"]) == ("openai", BASE_URL, "tiny")
    assert provider["api_key_name"] == KEY_ENV
