"""The user's models: a small registry of local model folders, and opening the configured engine.

`toolsmith models add PATH` validates a folder (config, tokenizer, weights, format)
before it is registered, so a broken download fails there and not mid-generation.
No network access happens unless the user runs `toolsmith models pull`.
"""

import json
import struct
from pathlib import Path

import msgspec

from ..base import atomic, paths
from ..base.config import Config
from ..base.errors import ToolsmithError
from ..base.manifest import now
from ..inference.backends import backends

SAFETENSORS_DTYPES = {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}


class ModelError(ToolsmithError):
    pass


class ModelEntry(msgspec.Struct, kw_only=True):
    name: str
    path: str
    format: str  # "float16", "bfloat16", "float32" or "exl2"
    architecture: str
    added: str


class Registry(msgspec.Struct, kw_only=True):
    default: str | None = None
    models: dict[str, ModelEntry] = {}


def registry_file() -> Path:
    return paths.data_dir() / "models.json"


def load_registry() -> Registry:
    path = registry_file()
    if not path.exists():
        return Registry()
    try:
        return msgspec.json.decode(path.read_bytes(), type=Registry)
    except (msgspec.ValidationError, msgspec.DecodeError) as e:
        raise ModelError(f"{path} is damaged ({e}); fix or delete it and add your models again") from None


def save_registry(registry: Registry) -> None:
    atomic.write_bytes(registry_file(), msgspec.json.format(msgspec.json.encode(registry)))


def inspect_folder(folder: Path) -> tuple[str, str]:
    """(architecture, format) of a Hugging Face-style model folder, or a clear error."""
    if not folder.is_dir():
        raise ModelError(f"{folder} is not a folder; give the folder that holds config.json and *.safetensors")
    for required in ("config.json", "tokenizer.json"):
        if not (folder / required).is_file():
            raise ModelError(f"{folder} has no {required}; a model folder needs config.json, tokenizer.json and *.safetensors")
    try:
        config = json.loads((folder / "config.json").read_text())
    except (ValueError, UnicodeDecodeError) as e:
        raise ModelError(f"{folder / 'config.json'} is not valid JSON: {e}") from None
    architecture = (config.get("architectures") or [config.get("model_type", "unknown")])[0]
    weights = sorted(folder.glob("*.safetensors"))
    if not weights:
        raise ModelError(f"{folder} has no *.safetensors weights")
    return architecture, _weights_format(weights)


def _weights_format(files: list[Path]) -> str:
    """Read the safetensors headers only (no tensor data) to tell fp16/bf16/fp32/EXL2 apart."""
    dtypes = set()
    for file in files:
        try:
            with open(file, "rb") as f:
                (length,) = struct.unpack("<Q", f.read(8))
                header = json.loads(f.read(length))
        except (struct.error, ValueError, OSError) as e:
            raise ModelError(f"{file} is not a safetensors file ({e})") from None
        for key, info in header.items():
            if key.endswith(".q_weight"):
                return "exl2"
            if key != "__metadata__":
                dtypes.add(info.get("dtype"))
    floats = [SAFETENSORS_DTYPES[d] for d in dtypes if d in SAFETENSORS_DTYPES]
    if not floats:
        raise ModelError(f"unsupported weight dtypes {sorted(map(str, dtypes))}; Toolsmith runs fp32, fp16, bf16 and EXL2 models")
    return max(floats, key=list(SAFETENSORS_DTYPES.values()).index)


def add(folder: Path, name: str | None = None) -> ModelEntry:
    folder = folder.expanduser().resolve()
    architecture, fmt = inspect_folder(folder)
    registry = load_registry()
    name = name or folder.name
    if name in registry.models:
        raise ModelError(f"a model named {name!r} is already registered; pick another with --name or remove it first")
    entry = ModelEntry(name=name, path=str(folder), format=fmt, architecture=architecture, added=now().isoformat())
    registry.models[name] = entry
    registry.default = registry.default or name
    save_registry(registry)
    return entry


def use(name: str) -> None:
    registry = load_registry()
    _entry(registry, name)
    registry.default = name
    save_registry(registry)


def remove(name: str) -> ModelEntry:
    """Forget a model (its files stay where they are)."""
    registry = load_registry()
    entry = registry.models.pop(_entry(registry, name).name)
    if registry.default == name:
        registry.default = next(iter(registry.models), None)
    save_registry(registry)
    return entry


def pull(repo: str, revision: str | None = None, tqdm_class=None) -> ModelEntry:
    """Download a model repository with huggingface_hub, then register it.

    `tqdm_class` draws the download's progress (huggingface_hub's own bars by default)."""
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise ModelError("pulling models needs huggingface_hub: pip install huggingface_hub") from None
    target = paths.data_dir() / "models" / repo.replace("/", "--")
    try:
        snapshot_download(repo_id=repo, revision=revision, local_dir=target, **({"tqdm_class": tqdm_class} if tqdm_class else {}))
    except Exception as e:
        raise ModelError(
            f"could not download {repo}: {type(e).__name__}; check the name and your connection "
            "(or copy the folder here and use `toolsmith models add PATH`)"
        ) from None
    return add(target, name=repo.rsplit("/", 1)[-1])


def _entry(registry: Registry, name: str) -> ModelEntry:
    if name not in registry.models:
        known = ", ".join(registry.models) or "none yet"
        raise ModelError(f"no model named {name!r} (registered: {known}); add one with `toolsmith models add PATH`")
    return registry.models[name]


def resolve_model(config: Config) -> str | None:
    """The model folder to use: the config's `engine.model` (a name or a path), else the default."""
    registry = load_registry()
    wanted = config.engine.model or registry.default
    if not wanted:
        return None
    if wanted in registry.models:
        return registry.models[wanted].path
    if Path(wanted).expanduser().is_dir():
        return str(Path(wanted).expanduser())
    raise ModelError(f"engine.model is {wanted!r}, which is neither a registered model nor a folder (see `toolsmith models list`)")


def open_engine(config: Config):
    """The configured engine, or None when no model is configured (the forge then uses recipes)."""
    model = resolve_model(config)
    if model is None and not config.engine.url:
        return None
    table = backends()
    if config.engine.backend not in table:
        raise ModelError(f"unknown engine backend {config.engine.backend!r} (available: {', '.join(table)})")
    backend = table[config.engine.backend]
    reason = backend.unavailable()
    if reason:
        raise ModelError(f"engine backend {backend.name!r} cannot run here: {reason}")
    options = {"model": model or "", "device": config.engine.device, "dtype": config.engine.dtype}
    if config.engine.url:
        options["url"] = config.engine.url
    if config.engine.tokenizer:
        options["tokenizer"] = config.engine.tokenizer
    return backend.create(**options)
