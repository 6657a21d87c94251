"""Find a model's safetensors files and stream its tensors by name.

The decoder consumes `(name, tensor)` pairs in Hugging Face naming, so any weight
format that can produce such pairs (dense safetensors, EXL2 through `exl2.py`)
plugs in without touching the model code.
"""

import json
from collections.abc import Iterator
from pathlib import Path

import torch

from ..base import progress
from ..inference.errors import ModelLoadError

INDEX_FILE = "model.safetensors.index.json"
# auto: int4 on CPU where torch has the kernel, else dequantize; int4: kept packed, repacked at load
# for torch's int4 CPU matmul; packed: kept packed, unpacked per layer on each forward (pure torch);
# dequantize: dense weights from load on.
EXL2_WEIGHTS = ("auto", "int4", "packed", "dequantize")


def safetensors_files(folder: Path) -> list[Path]:
    """The weight files, in the order the sharding index lists them (or sorted)."""
    folder = Path(folder)
    index = folder / INDEX_FILE
    if index.is_file():
        try:
            weight_map = json.loads(index.read_text())["weight_map"]
        except (json.JSONDecodeError, KeyError, UnicodeDecodeError) as e:
            raise ModelLoadError(f"{index}: not a valid safetensors index ({e})") from None
        files = [folder / name for name in dict.fromkeys(weight_map.values())]
        missing = [f.name for f in files if not f.is_file()]
        if missing:
            raise ModelLoadError(f"{folder}: shards listed in {INDEX_FILE} are missing: {', '.join(missing)}")
        return files
    files = sorted(folder.glob("*.safetensors"))
    if not files:
        raise ModelLoadError(f"{folder}: no *.safetensors weights found (pytorch .bin files are not supported)")
    return files


def iter_safetensors(folder: Path) -> Iterator[tuple[str, torch.Tensor]]:
    """Every tensor of the model, one at a time, so peak memory stays near one tensor.

    Tells base.progress how many of them are read, for a loading bar."""
    from safetensors import SafetensorError, safe_open

    files, total, done = safetensors_files(folder), 0, 0
    try:
        for path in files:
            with safe_open(str(path), framework="pt") as f:
                total += len(f.keys())
        for path in files:
            with safe_open(str(path), framework="pt") as f:
                for name in f.keys():
                    yield name, f.get_tensor(name)
                    done += 1
                    progress.advance(done, total)
    except SafetensorError as e:
        raise ModelLoadError(f"{path}: unreadable safetensors file ({e})") from None


def exl2_mode(exl2_weights: str, device: torch.device, dtype: torch.dtype) -> str:
    """The EXL2 weight mode to load with: `auto` resolved for this device and dtype; refused by name
    when unknown or when `int4` cannot run here."""
    from . import exl2_int4

    if exl2_weights not in EXL2_WEIGHTS:
        raise ModelLoadError(f"exl2_weights must be one of {', '.join(EXL2_WEIGHTS)}, got {exl2_weights!r}")
    runs_int4 = device.type == "cpu" and exl2_int4.available(dtype)
    if exl2_weights == "auto":
        return "int4" if runs_int4 else "dequantize"
    if exl2_weights == "int4" and not runs_int4:
        raise ModelLoadError(
            f"exl2_weights=int4 needs torch's int4 CPU kernel, which this torch lacks for {device.type} and "
            f"{str(dtype).removeprefix('torch.')}; use exl2_weights=auto, packed or dequantize"
        )
    return exl2_weights


def model_tensors(folder: Path, config, dtype: torch.dtype, exl2_weights: str = "dequantize"):
    """The tensors of a dense or EXL2 folder; EXL2 linears as `exl2_mode` resolved them."""
    from . import exl2

    if exl2.is_exl2_folder(folder):
        return exl2.iter_exl2(folder, config, dtype, exl2_weights)
    if config.quant_method == "exl2":
        raise ModelLoadError(f"{folder}: config.json says the weights are EXL2, but no tensor is quantized (no *.q_weight)")
    return iter_safetensors(folder)
