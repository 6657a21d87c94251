"""Headless Neovim with examples/editors/neovim/toolsmith.lua attaches to `toolsmith lsp` and gets diagnostics."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from toolsmith.core.tools.library import Library

from .conftest import INDEX_TOOL, save_tool

CONFIG = Path(__file__).parents[2] / "examples" / "editors" / "neovim" / "toolsmith.lua"

pytestmark = pytest.mark.skipif(shutil.which("nvim") is None, reason="Neovim is not installed here (Debian: apt-get install neovim)")

# Wait for the server's diagnostics, type the missing colon (an incremental change), wait for them to clear.
PROBE = """
local function snapshot()
  local found = {}
  for _, d in ipairs(vim.diagnostic.get(0)) do
    table.insert(found, { lnum = d.lnum, col = d.col, message = d.message, source = d.source })
  end
  return found
end
local result = {}
result.appeared = vim.wait(60000, function() return #vim.diagnostic.get(0) > 0 end, 50)
result.broken = snapshot()
local line = vim.api.nvim_buf_get_lines(0, 4, 5, true)[1]
vim.api.nvim_buf_set_text(0, 4, #line, 4, #line, { ":" })
result.cleared = vim.wait(60000, function() return #vim.diagnostic.get(0) == 0 end, 50)
result.fixed = snapshot()
vim.fn.writefile({ vim.fn.json_encode(result) }, vim.env.PROBE_OUT)
vim.cmd("qa!")
"""


def test_headless_neovim_gets_diagnostics_that_clear_when_fixed(tmp_path, toolsmith_home):
    save_tool("index", INDEX_TOOL.replace("def main(argv=None):", "def main(argv=None)"))
    source = Library().load("index").source_path
    probe, out = tmp_path / "probe.lua", tmp_path / "out.json"
    probe.write_text(PROBE)
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",  # `toolsmith` of this environment
        "TOOLSMITH_HOME": str(toolsmith_home),
        "PROBE_OUT": str(out),
        "XDG_STATE_HOME": str(tmp_path / "state"),  # Neovim's LSP log goes here, not into the real home
    }
    subprocess.run(["nvim", "--headless", "-u", str(CONFIG), str(source), "-c", f"luafile {probe}"], env=env, timeout=150, check=True, capture_output=True)
    result = json.loads(out.read_text())
    assert result["appeared"] and result["cleared"]
    assert [(d["lnum"], d["source"]) for d in result["broken"]] == [(4, "toolsmith")]
    assert result["fixed"] == []
