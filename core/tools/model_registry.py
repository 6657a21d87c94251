"""The user's models: a small registry of local model folders, and opening the configured engine.

`toolsmith models add PATH` asks the engine's own reader (the backend's `inspect`) about a
folder or GGUF file before it is registered, so a model the engine cannot load (a broken
download, an unsupported architecture) fails there and not when it is served.
No network access happens unless the user runs `toolsmith models pull`, which fetches only
what one model needs (one revision's safetensors, one EXL2 branch, or one GGUF file).
"""

import json
import re
from pathlib import Path

import msgspec

from ..base import atomic, paths
from ..base.config import Config
from ..base.errors import ToolsmithError
from ..base.manifest import now
from ..inference.backends import ModelInfo, backends


class ModelError(ToolsmithError):
    pass


class ModelEntry(msgspec.Struct, kw_only=True):
    name: str
    path: str
    format: str  # "float16", "bfloat16", "float32", "exl2" or "gguf <type>"
    architecture: str
    added: str
    family: str = ""  # entries written before families were recorded have none
    size_bytes: int = 0
    context_length: int = 0


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


def inspect(path: Path, backend: str = "native") -> ModelInfo:
    """Ask the engine's own reader what `path` is; its refusal (one line) becomes ours."""
    table = backends()
    reader = table[backend].inspect if backend in table else None
    if reader is None:
        raise ModelError(f"engine backend {backend!r} cannot inspect models (available: {', '.join(table)})")
    try:
        return reader(str(path))
    except ToolsmithError as e:
        raise ModelError(str(e)) from None


def add(folder: Path, name: str | None = None) -> ModelEntry:
    """Register a model folder or .gguf file, after the engine's reader says it can load it."""
    folder = folder.expanduser().resolve()
    info = inspect(folder)
    registry = load_registry()
    name = name or (folder.stem if folder.suffix == ".gguf" else folder.name)
    if name in registry.models:
        raise ModelError(f"a model named {name!r} is already registered; pick another with --name or remove it first")
    entry = ModelEntry(
        name=name,
        path=str(folder),
        format=info.format,
        architecture=info.architecture,
        family=info.family,
        size_bytes=info.size_bytes,
        context_length=info.context_length,
        added=now().isoformat(),
    )
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


class PullTarget(msgspec.Struct, frozen=True):
    repo: str
    revision: str | None  # an EXL2 size lives in a branch (REPO:4.0bpw)
    gguf: str | None  # a GGUF quantization (REPO:Q4_K_M): one file of the repository


GGUF_VARIANT = re.compile(r"(?i)^(I?Q\d\w*|F16|BF16|F32)$")
# what a safetensors or EXL2 model needs; other formats in the repository (.bin, .gguf, ONNX) are skipped
MODEL_FILES = ["*.json", "*.safetensors", "*.jinja", "tokenizer.model", "*.txt"]


def parse_pull(spec: str, revision: str | None = None) -> PullTarget:
    """REPO, REPO:4.0bpw (an EXL2 branch) or REPO:Q4_K_M (one GGUF file)."""
    repo, _, variant = spec.partition(":")
    if repo.count("/") != 1 or not all(repo.split("/")):
        raise ModelError(f"{spec!r} is not a repository name; use OWNER/NAME, OWNER/NAME:4.0bpw or OWNER/NAME:Q4_K_M")
    if not variant:
        return PullTarget(repo, revision, None)
    if variant.lower().endswith("bpw"):
        if revision:
            raise ModelError(f"{spec!r} names an EXL2 branch already; drop --revision {revision}")
        return PullTarget(repo, variant, None)
    if GGUF_VARIANT.match(variant):
        return PullTarget(repo, revision, variant)
    raise ModelError(
        f"unknown variant {variant!r}: use an EXL2 size such as :4.0bpw or a GGUF quantization such as :Q4_K_M"
    )


def pick_gguf(files: list[str], variant: str) -> str:
    """The repository's one GGUF file of `variant` (Q4_K_M matches model-Q4_K_M.gguf, case-insensitively)."""
    ggufs = [f for f in files if f.lower().endswith(".gguf")]
    pattern = re.compile(rf"(?i)(^|[-_.]){re.escape(variant)}([-_.]|$)")
    matches = [f for f in ggufs if pattern.search(f.rsplit("/", 1)[-1][: -len(".gguf")])]
    if not matches:
        available = ", ".join(f.rsplit("/", 1)[-1] for f in ggufs) or "no .gguf files"
        raise ModelError(f"no {variant} GGUF file in the repository (it has: {available})")
    if len(matches) > 1:
        raise ModelError(f"several {variant} GGUF files ({', '.join(matches)}); split GGUF files are not supported")
    return matches[0]


def pull(spec: str, revision: str | None = None, backend: str = "native", tqdm_class=None) -> ModelEntry:
    """Download one model of a repository: checked before its weights come, resumed, shown with progress.

    `tqdm_class` draws the download's progress (huggingface_hub's own bars by default)."""
    target = parse_pull(spec, revision)
    try:
        from huggingface_hub import HfApi, hf_hub_download, snapshot_download
    except ImportError:
        raise ModelError("pulling models needs huggingface_hub: pip install huggingface_hub") from None
    name = target.repo.rsplit("/", 1)[-1] + (f"-{target.revision}" if target.revision else "")
    folder = paths.data_dir() / "models" / (target.repo.replace("/", "--") + (f"--{target.revision}" if target.revision else ""))
    bars = {"tqdm_class": tqdm_class} if tqdm_class else {}
    try:
        if target.gguf:
            file = pick_gguf(HfApi().list_repo_files(target.repo, revision=target.revision), target.gguf)
            # GGUF metadata is inside the file: it is read (and a refused file removed) once downloaded
            path = Path(hf_hub_download(target.repo, file, revision=target.revision, local_dir=folder, **bars))
            return _add_or_remove(path, name=f"{name}-{target.gguf}")
        config = hf_hub_download(target.repo, "config.json", revision=target.revision, local_dir=folder)
        _check_config(Path(config), backend)
        snapshot_download(repo_id=target.repo, revision=target.revision, local_dir=folder, allow_patterns=MODEL_FILES, **bars)
    except ToolsmithError:
        raise
    except Exception as e:
        raise ModelError(
            f"could not download {spec}: {type(e).__name__}; check the name and your connection "
            "(or copy the folder here and use `toolsmith models add PATH`)"
        ) from None
    return add(folder, name=name)


def _check_config(path: Path, backend: str) -> None:
    """The engine's verdict on config.json alone, before any weights are downloaded."""
    table = backends()
    reader = table[backend].read_config if backend in table else None
    if reader is None:
        return
    try:
        reader(json.loads(path.read_text()))
    except ValueError as e:
        raise ModelError(f"{path}: not valid JSON: {e}") from None
    except ToolsmithError as e:
        raise ModelError(f"{e}; nothing else was downloaded") from None


def _add_or_remove(path: Path, name: str) -> ModelEntry:
    try:
        return add(path, name=name)
    except ModelError:
        path.unlink(missing_ok=True)
        raise


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
    if Path(wanted).expanduser().is_dir() or Path(wanted).expanduser().suffix == ".gguf":
        return str(Path(wanted).expanduser())
    raise ModelError(f"engine.model is {wanted!r}, which is neither a registered model nor a folder or .gguf file (see `toolsmith models list`)")


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
