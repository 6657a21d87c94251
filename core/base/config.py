"""User configuration: a strict TOML file plus environment overrides.

The file lives at `toolsmith config path` (platform config dir, or
`$TOOLSMITH_HOME/config/config.toml`). Any key can be overridden from the
environment as ``TOOLSMITH_<SECTION>__<KEY>``, e.g. ``TOOLSMITH_ENGINE__DTYPE=bfloat16``;
list values are comma-separated.
"""

import os
from pathlib import Path
from typing import Annotated, Literal

import msgspec

from . import paths
from .errors import ToolsmithError

ENV_PREFIX = "TOOLSMITH_"

DEFAULT_FORBIDDEN_CALLS = ["eval", "exec", "compile", "__import__", "os.system", "os.popen"]


class _Section(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    pass


class EngineConfig(_Section):
    """Which inference backend the forge and the HTTP API use."""

    backend: str = "native"
    model: str = ""
    device: Literal["cpu", "cuda", "auto"] = "auto"
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = "auto"
    url: str = ""
    tokenizer: str = ""  # remote backend: a local model folder whose tokenizer counts tokens


class ChecksConfig(_Section):
    """Policy for the source checks every tool passes before it is saved."""

    allowed_imports: list[str] = []
    forbidden_calls: list[str] = msgspec.field(default_factory=lambda: list(DEFAULT_FORBIDDEN_CALLS))
    forbid_shell: bool = True
    max_source_bytes: Annotated[int, msgspec.Meta(gt=0)] = 1_000_000


class SandboxConfig(_Section):
    """Defaults for sandboxed tool runs."""

    allow_degraded: bool = False
    timeout: Annotated[float, msgspec.Meta(gt=0)] = 60.0
    memory_mb: Annotated[int, msgspec.Meta(gt=0)] = 2048
    preview_mb: Annotated[int, msgspec.Meta(gt=0)] = 4096  # what one preview may write, in all
    preview_files: Annotated[int, msgspec.Meta(gt=0)] = 100_000  # files and folders one preview may add
    preview_days: Annotated[float, msgspec.Meta(gt=0)] = 7.0  # a preview never applied keeps its layers this long
    keep_runs_days: Annotated[float, msgspec.Meta(ge=0)] = 30.0  # `toolsmith runs prune` removes older runs (not applied ones)


class ForgeConfig(_Section):
    """How the forge drives the model, and when a recipe is good enough without one."""

    max_attempts: Annotated[int, msgspec.Meta(ge=1, le=10)] = 3
    max_tokens: Annotated[int, msgspec.Meta(ge=64)] = 2048
    temperature: Annotated[float, msgspec.Meta(ge=0, le=2)] = 0.2
    # Lowest match score at which a recipe answers a request without a model;
    # unset: the threshold calibrated on the held-out paraphrases (core/retrieval.py).
    recipe_threshold: Annotated[float, msgspec.Meta(ge=0, le=1)] | None = None
    log: bool = True  # keep every forge session in DATA_DIR/logs.db (`toolsmith logs`)


class ServerConfig(_Section):
    """The local HTTP API (`toolsmith serve`)."""

    host: str = "127.0.0.1"
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 8765
    max_tokens: Annotated[int, msgspec.Meta(ge=1)] = 4096  # cap on what one request may ask for
    max_body_bytes: Annotated[int, msgspec.Meta(ge=1024)] = 2_000_000
    cors_origins: list[str] = []  # none: browsers on other origins get no CORS headers
    allowed_hosts: list[str] = []  # Host names accepted besides localhost, 127.0.0.1 and [::1]
    header_timeout_s: Annotated[float, msgspec.Meta(gt=0)] = 10.0  # a request's headers must arrive within this
    body_timeout_s: Annotated[float, msgspec.Meta(gt=0)] = 60.0  # ... and its body within this after them
    max_connections: Annotated[int, msgspec.Meta(ge=1)] = 64  # beyond it, the oldest still sending headers is dropped


class Config(_Section):
    engine: EngineConfig = msgspec.field(default_factory=EngineConfig)
    forge: ForgeConfig = msgspec.field(default_factory=ForgeConfig)
    checks: ChecksConfig = msgspec.field(default_factory=ChecksConfig)
    sandbox: SandboxConfig = msgspec.field(default_factory=SandboxConfig)
    server: ServerConfig = msgspec.field(default_factory=ServerConfig)


class ConfigError(ToolsmithError):
    """The config file or an override is invalid; the message names file, key and type."""


def load(path: Path | None = None, environ=os.environ) -> Config:
    path = path or paths.config_file()
    raw = _read(path)
    for section, key, value in _overrides(environ):
        raw.setdefault(section, {})
        if not isinstance(raw[section], dict):
            raise ConfigError(f"{path}: [{section}] must be a table")
        raw[section][key] = value
    try:
        return msgspec.convert(raw, type=Config, strict=False)
    except msgspec.ValidationError as e:
        raise ConfigError(f"{path} (or a {ENV_PREFIX}* override): {_explain(e)}") from None


def _read(path: Path) -> dict:
    if not path.exists():
        return {}
    try:
        return msgspec.toml.decode(path.read_bytes())
    except msgspec.DecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None


def _overrides(environ) -> list[tuple[str, str, object]]:
    sections = {name: Config.__annotations__[name] for name in Config.__struct_fields__}
    found = []
    for var, value in environ.items():
        if not var.startswith(ENV_PREFIX) or "__" not in var:
            continue
        section, _, key = var[len(ENV_PREFIX):].lower().partition("__")
        if section not in sections:
            continue
        fields = sections[section].__struct_fields__
        if key not in fields:
            raise ConfigError(f"{var}: unknown key {key!r} in [{section}] (known: {', '.join(fields)})")
        annotation = sections[section].__annotations__.get(key, "")
        is_list = "list" in str(annotation)
        found.append((section, key, [v.strip() for v in value.split(",") if v.strip()] if is_list else value))
    return found


def _explain(e: msgspec.ValidationError) -> str:
    text = str(e)
    if text.startswith("Object contains unknown field"):
        text = text.replace("Object contains unknown field", "unknown key", 1)
    return text.replace("`$.", "`")


def to_toml(config: Config) -> str:
    import tomli_w

    sections = msgspec.to_builtins(config)  # TOML has no null: an unset key (None) is left out, as in the file
    return tomli_w.dumps({name: {k: v for k, v in keys.items() if v is not None} for name, keys in sections.items()})
