"""What a model folder or GGUF file is, read without loading its weights.

`toolsmith models add` asks this through the native backend's `inspect`, so the
same reader that the engine loads with decides what gets registered: config.json
through `model_config`, the tokenizer files, and the safetensors headers checked
name by name and shape by shape against what the family expects.
"""

import json
import struct
from pathlib import Path

from ..inference.backends import ModelInfo
from ..inference.errors import ModelLoadError
from .model_config import load_model_config
from .models import expected_shapes
from .tokenizer import check_tokenizer_files
from .weights import safetensors_files

SAFETENSORS_DTYPES = {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}


def inspect_model(path: str | Path) -> ModelInfo:
    path = Path(path).expanduser()
    if path.is_file() and path.suffix == ".gguf":
        from .gguf import inspect_gguf

        return inspect_gguf(path)
    if not path.is_dir():
        raise ModelLoadError(
            f"{path} is not a folder or a .gguf file; give the folder that holds config.json and *.safetensors"
        )
    config = load_model_config(path)
    check_tokenizer_files(path)
    files = safetensors_files(path)
    headers = {name: info for file in files for name, info in _header(file).items()}
    fmt = "exl2" if any(name.endswith(".q_weight") for name in headers) else _dense_format(path, config, headers)
    return ModelInfo(
        architecture=config.architecture,
        family=config.family,
        format=fmt,
        size_bytes=sum(f.stat().st_size for f in path.iterdir() if f.is_file()),
        context_length=config.max_position_embeddings,
    )


def _header(file: Path) -> dict:
    try:
        with open(file, "rb") as f:
            (length,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(length))
    except (struct.error, ValueError, OSError) as e:
        raise ModelLoadError(f"{file} is not a safetensors file ({e})") from None
    header.pop("__metadata__", None)
    return header


def _dense_format(folder: Path, config, headers: dict) -> str:
    """The weights' float type, after checking every tensor is one the family expects, with its shape."""
    expected = expected_shapes(config)
    for name, info in headers.items():
        if name.endswith("rotary_emb.inv_freq"):
            continue
        if name not in expected:
            raise ModelLoadError(f"{folder}: unexpected tensor {name!r} for {config.architecture}; is config.json for these weights?")
        if tuple(info.get("shape", ())) != expected[name]:
            raise ModelLoadError(
                f"{folder}: tensor {name!r} has shape {tuple(info.get('shape', ()))}, config.json implies {expected[name]}"
            )
    missing = [n for n in expected if n not in headers and not (config.tie_word_embeddings and n == "lm_head.weight")]
    if missing:
        raise ModelLoadError(f"{folder}: weights are missing {', '.join(missing[:3])}{' and more' if len(missing) > 3 else ''}")
    dtypes = {info.get("dtype") for info in headers.values()}
    floats = [SAFETENSORS_DTYPES[d] for d in dtypes if d in SAFETENSORS_DTYPES]
    if not floats or len(floats) != len(dtypes):
        raise ModelLoadError(f"{folder}: unsupported weight dtypes {sorted(map(str, dtypes))}; the engine runs fp32, fp16, bf16 and EXL2")
    return max(floats, key=list(SAFETENSORS_DTYPES.values()).index)
