-- Toolsmith in Neovim: the language server for tool files, and the local model for chat.
--
-- Load it from your init.lua (or copy the parts you want):
--   dofile(vim.fn.expand("~/src/toolsmith/examples/editors/neovim/toolsmith.lua"))
-- Needs `toolsmith` on PATH (pip install 'toolsmith[lsp]').

---------------------------------------------------------------------------
-- 1. The language server, with Neovim's built-in client (Neovim 0.7 or newer).
--    Tool files: tool.py, tool.sh and tool.toml (a tool's folder in the library,
--    or one you are writing). You get the checks as you type, hover help on
--    manifest keys (K), and code actions (vim.lsp.buf.code_action(); on 0.7,
--    visual mode: :'<,'>lua vim.lsp.buf.range_code_action()):
--      Preview run                  run the saved tool in the sandbox; shows the plan
--      Edit tool by description…    the selection, or the comment under the cursor, is the change
--      Regenerate from description  write the tool again from its manifest's description
---------------------------------------------------------------------------
local toolsmith_clients = {} -- Neovim 0.7 has no vim.lsp.start: one client per folder

local function attach_toolsmith(args)
  local config = {
    name = "toolsmith",
    cmd = { "toolsmith", "lsp" },
    root_dir = vim.fn.fnamemodify(vim.api.nvim_buf_get_name(args.buf), ":p:h"),
  }
  if vim.lsp.start then -- 0.8+: reuses the running client for the same folder
    vim.lsp.start(config)
    return
  end
  local id = toolsmith_clients[config.root_dir]
  if id == nil or vim.lsp.get_client_by_id(id) == nil then
    id = vim.lsp.start_client(config)
    toolsmith_clients[config.root_dir] = id
  end
  vim.lsp.buf_attach_client(args.buf, id)
end

vim.api.nvim_create_autocmd({ "BufReadPost", "BufNewFile" }, {
  pattern = { "tool.py", "tool.sh", "tool.toml" },
  callback = attach_toolsmith,
  desc = "Attach the Toolsmith language server to tool files",
})

---------------------------------------------------------------------------
-- 2. Chat and inline edits with the local model that `toolsmith serve` serves
--    (OpenAI-compatible, http://127.0.0.1:8765/v1), through codecompanion.nvim
--    (v18 or newer: its `strategies` were renamed `interactions`) or avante.nvim.
--    Start the server first: `toolsmith serve`. The API key is read with
--    `toolsmith serve --show-key`; the model is the name `toolsmith models list`
--    shows (or GET /v1/models), here from $TOOLSMITH_MODEL.
---------------------------------------------------------------------------
local model = vim.env.TOOLSMITH_MODEL or "qwen2.5-coder-1.5b-instruct"

local has_codecompanion, codecompanion = pcall(require, "codecompanion")
if has_codecompanion then
  codecompanion.setup({
    adapters = {
      http = { -- the `adapter = "toolsmith"` below resolves to this entry
        toolsmith = function()
          return require("codecompanion.adapters").extend("openai_compatible", {
            name = "toolsmith",
            formatted_name = "Toolsmith (local)",
            env = {
              url = "http://127.0.0.1:8765",
              api_key = "cmd:toolsmith serve --show-key",
              chat_url = "/v1/chat/completions",
              models_endpoint = "/v1/models",
            },
            schema = { model = { default = model } },
          })
        end,
      },
    },
    interactions = {
      chat = { adapter = "toolsmith" },
      inline = { adapter = "toolsmith" },
      cmd = { adapter = "toolsmith" },
    },
  })
end

-- avante.nvim: a provider that inherits OpenAI's and points at the local server.
-- avante reads the key from the variable `api_key_name` names, the one
-- `toolsmith serve` honours: export TOOLSMITH_API_KEY="$(toolsmith serve --show-key)".
local has_avante, avante = pcall(require, "avante")
if has_avante then
  avante.setup({
    provider = "toolsmith",
    providers = {
      toolsmith = {
        __inherited_from = "openai",
        endpoint = "http://127.0.0.1:8765/v1",
        model = model,
        api_key_name = "TOOLSMITH_API_KEY",
        timeout = 120000,
        extra_request_body = { temperature = 0.2, max_tokens = 4096 },
      },
    },
  })
end
