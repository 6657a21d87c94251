"""Quantize a dense model to EXL2 by rounding to nearest (no calibration data).

exllamav2's converter runs GPTQ over calibration text on a GPU; this writer is the
plain version of the same format, for users who hold an fp16 model and want a
smaller one, and for tests: rows are ordered by importance (act-order, here the
norm of each input feature's weights), the most important rows get the wider bit
width, and every group's scales are rounded up so that no weight is clipped.
The folder it writes is laid out as exllamav2's (tensor names, dtypes, groups in
descending bit width, columns padded to 32), so exllamav2 loads it too.
"""

import json
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

from ..base.errors import ToolsmithError
from .exl2 import BITS, is_exl2_folder, pack_bits
from .model import expected_shapes
from .model_config import load_model_config
from .weights import iter_safetensors

# lm_head layouts by head_bits: (group size, [(bits, share of rows)]), exllamav2's table.
HEAD_PLANS = {
    2: (32, [(4, 0.30), (2, 0.70)]),
    3: (32, [(4, 0.15), (3, 0.85)]),
    4: (32, [(6, 0.15), (4, 0.85)]),
    5: (128, [(6, 0.15), (5, 0.85)]),
    6: (128, [(8, 0.15), (6, 0.85)]),
    8: (128, [(8, 1.0)]),
}
NOT_COPIED = (".safetensors", ".bin", ".pt", ".pth", ".index.json")


class QuantizeError(ToolsmithError):
    """The source model or the requested bit widths cannot be quantized; the message says why."""


def body_plan(bits: float) -> tuple[int, list[tuple[int, float]]]:
    """(group size, [(bits, share)]) averaging `bits` over the two allowed widths around it."""
    if not BITS[0] <= bits <= BITS[-1]:
        raise QuantizeError(f"--bits must be between {BITS[0]} and {BITS[-1]}, got {bits}")
    low = max(b for b in BITS if b <= bits)
    group_size = 32 if low <= 3 else 128  # narrow widths need finer scales
    if low == bits:
        return group_size, [(low, 1.0)]
    high = min(b for b in BITS if b > bits)
    share = (bits - low) / (high - low)
    return group_size, [(high, share), (low, 1 - share)]


def plan_groups(in_features: int, shares: list[tuple[int, float]], group_size: int) -> list[tuple[int, int]]:
    """[(bits, rows)] covering `in_features` rows: widths in descending order, each width's
    rows a multiple of 32 (rounded up), split into groups where only the last is short."""
    if in_features % 32:
        raise QuantizeError(f"{in_features} input features is not a multiple of 32, which EXL2 requires")
    shares = sorted(shares, reverse=True)
    groups, left = [], in_features
    for i, (bits, share) in enumerate(shares):
        rows = left if i == len(shares) - 1 else min(left, math.ceil(share * in_features / 32) * 32)
        left -= rows
        while rows:
            take = min(group_size, rows)
            groups.append((bits, take))
            rows -= take
    return groups


def quantize_linear(
    weight: torch.Tensor, bias: torch.Tensor | None, groups: list[tuple[int, int]], perm: torch.Tensor | None = None
) -> dict[str, torch.Tensor]:
    """The EXL2 tensors (q_weight, q_scale, q_scale_max, q_groups, q_invperm[, bias]) of one layer.

    `weight` is [out, in] as in Hugging Face; `perm` orders the input features
    (default: by descending column norm, so the first, widest groups get the most important).
    """
    out_features, in_features = weight.shape
    padded = -(-out_features // 32) * 32
    if perm is None:
        perm = torch.argsort(weight.float().norm(dim=0), descending=True, stable=True)
    rows_t = torch.zeros(in_features, padded)
    rows_t[:, :out_features] = weight.float().t()[perm]
    words, codes, maxima, pairs, row, qrow = [], [], [], [], 0, 0
    for bits, rows in groups:
        q, code, scale_max = _quantize_group(rows_t[row : row + rows], bits)
        words.append(pack_bits(q, bits))
        codes.append(_pack_nibbles(code))
        maxima.append(scale_max)
        pairs += [bits, qrow]
        row, qrow = row + rows, qrow + rows * bits // 32
    tensors = {
        "q_weight": torch.cat(words),
        "q_scale": torch.stack(codes),
        "q_scale_max": torch.stack(maxima).to(torch.float16),
        "q_groups": torch.tensor(pairs, dtype=torch.int16),
        "q_invperm": torch.argsort(perm).to(torch.int32),
    }
    if bias is not None:
        tensors["bias"] = torch.cat([bias.to(torch.float16), bias.new_zeros(padded - out_features, dtype=torch.float16)])
    return tensors


def _quantize_group(x: torch.Tensor, bits: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Values, scale codes (0..15) and q_scale_max of one [rows, padded] group.

    The scale of column n is (code+1)^2 * M with M = f16(q_scale_max/256); M is rounded
    up and codes chosen as the smallest whose scale covers the column's range, so the
    rounding error of every weight stays within half a step.
    """
    half = torch.float16
    base = (x.abs().amax(dim=0) + 1e-12) / ((2**bits - 1) / 2)  # the scale each column needs
    m = _f16_at_least(base.max() / 256)
    code = torch.ceil(torch.sqrt(base / m)).clamp(1, 16)
    scale = (code**2 * m).to(half).float()
    code = torch.where(scale < base, (code + 1).clamp(max=16), code)
    scale = (code**2 * m).to(half).float()
    q = (torch.round(x / scale) + 2 ** (bits - 1)).clamp(0, 2**bits - 1).to(torch.int64)
    return q, code.to(torch.int64) - 1, m * 256


def _f16_at_least(value: torch.Tensor) -> torch.Tensor:
    """The smallest fp16 value >= value, as float32 (fp16 subnormals included)."""
    h = value.to(torch.float16)
    if h.float() < value:
        h = torch.nextafter(h, torch.tensor(float("inf"), dtype=torch.float16))
    return h.float()


def _pack_nibbles(codes: torch.Tensor) -> torch.Tensor:
    """[padded] codes 0..15 -> [padded/8] int32; column 8j+i in bits 4i..4i+3 of word j."""
    shifts = torch.arange(0, 32, 4)
    words = (codes.view(-1, 8) << shifts).sum(dim=1)
    return torch.where(words >= 2**31, words - 2**32, words).to(torch.int32)


def quantize_model(src: Path, dst: Path, bits: float = 4.0, head_bits: int = 6,
                   progress: Callable[[int, int], None] | None = None) -> dict:
    """Write an EXL2 copy of the dense model folder `src` into the new folder `dst`.

    Returns a summary: bits per weight of the layers (scales included), of the head,
    the number of quantized layers and the seconds taken. `progress(done, total)` is
    told after each tensor, for a progress bar.
    """
    src, dst = Path(src), Path(dst)
    started = time.monotonic()
    if head_bits not in HEAD_PLANS:
        raise QuantizeError(f"--head-bits must be one of {', '.join(map(str, HEAD_PLANS))}, got {head_bits}")
    body = body_plan(bits)
    if not src.is_dir() or not (src / "config.json").is_file():
        raise QuantizeError(f"{src} is not a model folder (it needs config.json and *.safetensors)")
    if is_exl2_folder(src):
        raise QuantizeError(f"{src} is already EXL2; quantize the original fp16/bf16/fp32 model")
    if dst.is_file() or (dst.exists() and any(dst.iterdir())):
        raise QuantizeError(f"{dst} already exists and is not empty; choose a new folder")
    config = load_model_config(src)
    shapes = expected_shapes(config)
    tensors = dict(iter_safetensors(src))
    if config.tie_word_embeddings and "lm_head.weight" not in tensors:
        tensors["lm_head.weight"] = tensors["model.embed_tokens.weight"]  # exllamav2 quantizes a tied head too
    out, stats = {}, {"body": [0, 0], "head": [0, 0]}
    for done, (name, tensor) in enumerate(tensors.items(), 1):
        if progress:
            progress(done - 1, len(tensors))
        prefix, _, part = name.rpartition(".")
        if part == "bias" and f"{prefix}.weight" in tensors and _is_linear(prefix):
            continue
        if not (part == "weight" and _is_linear(prefix)):
            out[name] = tensor.to(torch.float16).contiguous()
            continue
        if name not in shapes:
            raise QuantizeError(f"{src}: unexpected tensor {name} for {config.architecture}")
        group_size, shares = HEAD_PLANS[head_bits] if prefix == "lm_head" else body
        try:
            groups = plan_groups(tensor.shape[1], shares, group_size)
        except QuantizeError as e:
            raise QuantizeError(f"{name}: {e}") from None
        layer = quantize_linear(tensor, tensors.get(f"{prefix}.bias"), groups, shared_perm(tensors, prefix))
        out |= {f"{prefix}.{key}": value for key, value in layer.items()}
        kind = stats["head" if prefix == "lm_head" else "body"]
        kind[0] += sum(layer[k].numel() * layer[k].element_size() * 8 for k in layer if k != "bias")
        kind[1] += tensor.numel()
    if progress:
        progress(len(tensors), len(tensors))
    _write_folder(src, dst, out, bits, head_bits)
    return {
        "bits_per_weight": stats["body"][0] / stats["body"][1],
        "head_bits_per_weight": stats["head"][0] / stats["head"][1],
        "layers": sum(1 for name in out if name.endswith(".q_weight")),
        "seconds": time.monotonic() - started,
        "folder": str(dst),
    }


# Layers that read the same input: exllamav2 quantizes them with one Hessian, hence one act-order,
# which lets a kernel multiply them as one matrix (exl2_int4).
SHARED_INPUT = (("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"), ("mlp.gate_proj", "mlp.up_proj"))


def shared_perm(tensors: dict[str, torch.Tensor], prefix: str) -> torch.Tensor | None:
    """The act-order of a layer that shares its input with others: by the input features' norm
    over all of them. None for the other layers (quantize_linear orders them alone)."""
    layer, _, name = prefix.rpartition(".")
    layer, _, kind = layer.rpartition(".")
    for names in SHARED_INPUT:
        if f"{kind}.{name}" in names:
            weights = [tensors[f"{layer}.{n}.weight"] for n in names if f"{layer}.{n}.weight" in tensors]
            return torch.argsort(torch.cat(weights).float().norm(dim=0), descending=True, stable=True)
    return None


def _is_linear(prefix: str) -> bool:
    return prefix == "lm_head" or prefix.endswith("_proj")


def _write_folder(src: Path, dst: Path, tensors: dict, bits: float, head_bits: int) -> None:
    """Write into a temporary sibling folder, then rename: a failed run leaves no half model."""
    from safetensors.torch import save_file

    dst.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{dst.name}.", dir=dst.parent))
    try:
        save_file(tensors, str(work / "output.safetensors"), metadata={"format": "pt"})
        for path in src.iterdir():
            if path.is_file() and path.name != "config.json" and not path.name.endswith(NOT_COPIED):
                shutil.copy2(path, work / path.name)
        raw = json.loads((src / "config.json").read_text())
        raw["quantization_config"] = {
            "quant_method": "exl2",
            "version": "toolsmith-rtn",
            "bits": bits,
            "head_bits": head_bits,
            "calibration": {"rows": 0, "length": 0, "dataset": "none (round to nearest)"},
        }
        (work / "config.json").write_text(json.dumps(raw, indent=2))
        if dst.exists():
            dst.rmdir()
        os.replace(work, dst)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
