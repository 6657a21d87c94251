"""A model folder's tokenizer: ``tokenizer.json`` through `tokenizers`, plus the chat template.

The files follow Hugging Face's layout.  Chat templates come from the model folder, so
they are untrusted code: they are rendered in jinja2's immutable sandbox, with the same
environment options and helpers Hugging Face gives them so the prompts are identical.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
import jinja2.ext
import jinja2.nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment
from tokenizers import Tokenizer as _HFTokenizer

from toolsmith.core.base.errors import ToolsmithError


class TokenizerError(ToolsmithError):
    """A tokenizer file is missing or invalid, or a chat template cannot be rendered."""


class Tokenizer:
    def __init__(
        self,
        tokenizer: _HFTokenizer,
        *,
        eos_token_ids: set[int],
        bos_token_id: int | None = None,
        chat_template: str | None = None,
        tool_chat_template: str | None = None,
        template_tokens: dict[str, str] | None = None,
    ):
        self._tokenizer = tokenizer
        self.vocab_size: int = tokenizer.get_vocab_size(with_added_tokens=True)
        self.eos_token_ids = eos_token_ids
        self.bos_token_id = bos_token_id
        self.all_special_ids: set[int] = {i for i, t in tokenizer.get_added_tokens_decoder().items() if t.special}
        self.chat_template = chat_template
        self.tool_chat_template = tool_chat_template  # a named `tool_use` template, used when tools are passed
        self._template_tokens = template_tokens or {}
        self._compiled: dict[str, jinja2.Template] = {}

    @classmethod
    def from_folder(cls, folder: Path) -> Tokenizer:
        """Load ``tokenizer.json``, ``tokenizer_config.json`` and the EOS ids of a model folder."""
        folder = Path(folder)
        check_tokenizer_files(folder)
        path = folder / "tokenizer.json"
        try:
            tokenizer = _HFTokenizer.from_file(str(path))
        except Exception as e:
            raise TokenizerError(f"{path} is not a valid tokenizer file: {e}") from e
        config = _read_json(folder / "tokenizer_config.json")
        tokens = {
            name: text
            for name in ("bos_token", "eos_token", "unk_token", "pad_token")
            if (text := _token_text(config.get(name))) is not None
        }
        bos_id = tokenizer.token_to_id(tokens["bos_token"]) if "bos_token" in tokens else None
        default, tool_use = _chat_templates(folder, config)
        return cls(
            tokenizer,
            eos_token_ids=_eos_token_ids(folder, tokenizer, tokens.get("eos_token")),
            bos_token_id=bos_id,
            chat_template=default,
            tool_chat_template=tool_use,
            template_tokens=tokens,
        )

    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
        """Token ids of ``text``; special tokens (BOS) are added as tokenizer.json's post-processor says.

        Like transformers 5, ``add_bos_token`` in tokenizer_config.json is not consulted: real model
        folders encode it in the post-processor.  Rendered chat templates already hold their special
        tokens, so encode them with ``add_special_tokens=False``.
        """
        return self._tokenizer.encode(text, add_special_tokens=add_special_tokens).ids

    def decode(self, ids: list[int], skip_special_tokens: bool = True) -> str:
        return self._tokenizer.decode(ids, skip_special_tokens=skip_special_tokens)

    def to_json(self) -> str:
        """The tokenizer.json text (what grammar compilers read)."""
        return self._tokenizer.to_str()

    def id_to_token(self, token_id: int) -> str | None:
        return self._tokenizer.id_to_token(token_id)

    def token_to_id(self, token: str) -> int | None:
        return self._tokenizer.token_to_id(token)

    def apply_chat_template(self, messages: list[dict], add_generation_prompt: bool = True, **extra: Any) -> str:
        """Render ``messages`` as the model expects; ``extra`` (e.g. ``tools``) is passed to the template.

        With tools, a named ``tool_use`` template wins over ``default`` (as transformers picks them).
        """
        source = self.tool_chat_template if extra.get("tools") and self.tool_chat_template else self.chat_template
        if source is None:
            raise TokenizerError(
                "this model has no chat template (tokenizer_config.json has no chat_template and there is no "
                "chat_template.jinja): use a plain completion prompt instead"
            )
        if source not in self._compiled:
            self._compiled[source] = _compile(source)
        variables = {"tools": None, "documents": None, **self._template_tokens, **extra}
        try:
            return self._compiled[source].render(messages=messages, add_generation_prompt=add_generation_prompt, **variables)
        except Exception as e:  # the template is foreign code: any failure is a bad template or bad messages
            raise TokenizerError(f"the chat template failed: {type(e).__name__}: {e}") from e

    def encode_chat(self, messages: list[dict], add_generation_prompt: bool = True, **extra: Any) -> list[int]:
        """Token ids of the rendered chat; the template writes its own BOS, so none is added (as HF does)."""
        return self.encode(self.apply_chat_template(messages, add_generation_prompt, **extra), add_special_tokens=False)


def check_tokenizer_files(folder: Path) -> None:
    """Refuse, saying what to do, a folder without tokenizer.json (a SentencePiece-only one included)."""
    if (folder / "tokenizer.json").is_file():
        return
    if (folder / "tokenizer.model").is_file():
        raise TokenizerError(
            f"{folder} has only a SentencePiece tokenizer.model; Toolsmith needs tokenizer.json (write one with "
            "transformers: AutoTokenizer.from_pretrained(folder).save_pretrained(folder))"
        )
    raise TokenizerError(f"{folder / 'tokenizer.json'} not found: the model folder needs a Hugging Face tokenizer.json")


def _read_json(path: Path) -> dict:
    """The object in an optional JSON file; {} when the file does not exist."""
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise TokenizerError(f"{path} is not valid JSON: {e}") from e
    if not isinstance(data, dict):
        raise TokenizerError(f"{path} must hold a JSON object, got {type(data).__name__}")
    return data


def _token_text(value: object) -> str | None:
    """A special token as tokenizer_config.json writes it: a string or a serialised AddedToken."""
    if isinstance(value, dict):
        value = value.get("content")
    return value if isinstance(value, str) else None


def _eos_token_ids(folder: Path, tokenizer: _HFTokenizer, eos_token: str | None) -> set[int]:
    """EOS ids: generation_config.json wins over config.json, which wins over the tokenizer's eos_token."""
    for name in ("generation_config.json", "config.json"):
        value = _read_json(folder / name).get("eos_token_id")
        if value is None:
            continue
        ids = value if isinstance(value, list) else [value]
        if not ids or not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in ids):
            raise TokenizerError(f"{folder / name}: eos_token_id must be a token id or a list of them, got {value!r}")
        return set(ids)
    if eos_token is None:
        return set()
    eos_id = tokenizer.token_to_id(eos_token)
    if eos_id is None:
        raise TokenizerError(f"{folder / 'tokenizer_config.json'}: eos_token {eos_token!r} is not in the vocabulary")
    return {eos_id}


def _chat_templates(folder: Path, config: dict) -> tuple[str | None, str | None]:
    """(default, tool_use) templates: chat_template.jinja, else tokenizer_config.json's (a string or named list)."""
    jinja_file = folder / "chat_template.jinja"
    if jinja_file.is_file():
        return jinja_file.read_text(encoding="utf-8"), None
    template = config.get("chat_template")
    if template is None or isinstance(template, str):
        return template, None
    if isinstance(template, list):
        named = {t.get("name"): t.get("template") for t in template if isinstance(t, dict)}
        tool_use = named.get("tool_use") if isinstance(named.get("tool_use"), str) else None
        if isinstance(named.get("default"), str):
            return named["default"], tool_use
    raise TokenizerError(
        f"{folder / 'tokenizer_config.json'}: chat_template must be a string or a list with a 'default' template"
    )


class _GenerationTag(jinja2.ext.Extension):
    """Accept Hugging Face's ``{% generation %}`` block (it marks assistant text) and render its body."""

    tags = {"generation"}

    def parse(self, parser: jinja2.parser.Parser) -> jinja2.nodes.Node:
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return jinja2.nodes.Scope(body).set_lineno(lineno)


def _compile(source: str) -> jinja2.Template:
    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols, _GenerationTag]
    )
    env.filters["tojson"] = _tojson
    env.globals["raise_exception"] = _raise_exception
    env.globals["strftime_now"] = _strftime_now
    try:
        return env.from_string(source)
    except jinja2.TemplateSyntaxError as e:
        raise TokenizerError(f"the chat template has a syntax error on line {e.lineno}: {e.message}") from e


def _tojson(value: Any, ensure_ascii: bool = False, indent: int | None = None, separators=None, sort_keys=False) -> str:
    """JSON without jinja's HTML escaping, as chat templates expect."""
    return json.dumps(value, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def _raise_exception(message: str) -> None:
    raise jinja2.TemplateError(message)


def _strftime_now(fmt: str) -> str:
    return datetime.now().strftime(fmt)
