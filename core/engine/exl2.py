"""Read EXL2 (exllamav2) quantized models on any device, in pure PyTorch.

Each quantized linear layer `p` is stored as five tensors (docs/exl2.md):
  p.q_weight     int32 [sum(K_g*b_g/32), Np]  values, an LSB-first bit string along K per column
  p.q_scale      int32 [G, Np/8]              4-bit scale codes, column n in nibble n%8
  p.q_scale_max  f16   [G]                    per-group maximum scale (times 256)
  p.q_groups     int16 [2G]                   (bits, first q_weight row) per row group
  p.q_invperm    int32 [K]                    undoes the act-order row permutation
Rows are quantized in permuted order, in groups of one bit width each; Np is the
output width padded to a multiple of 32. Dequantization follows exllamav2's fp16
chain (every product rounded to fp16), so our weights equal its reconstructed ones.

The reader yields Hugging Face-named tensors, one layer at a time, so the decoder
never sees the format: either dequantized weights, or `PackedWeight`s that
dequantize on each use when memory is short.
"""

import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import torch
import torch.nn.functional as F

from ..inference.errors import ModelLoadError

BITS = (2, 3, 4, 5, 6, 8)
PARTS = ("q_weight", "q_scale", "q_scale_max", "q_groups", "q_invperm")
DTYPES = {"q_weight": (torch.int32,), "q_scale": (torch.int32,), "q_scale_max": (torch.float16,)}
DTYPES |= {"q_groups": (torch.int16,), "q_invperm": (torch.int16, torch.int32, torch.int64)}
MASK32 = 0xFFFFFFFF


class Exl2Error(ModelLoadError):
    """An EXL2 folder is damaged or breaks the format's rules; the message names the tensor."""


# -- the bit string -------------------------------------------------------------


def pack_bits(values: torch.Tensor, bits: int) -> torch.Tensor:
    """[rows, N] unsigned values -> [rows*bits/32, N] int32 words, LSB first along rows."""
    rows, cols = values.shape
    if rows * bits % 32:
        raise ValueError(f"{rows} rows of {bits} bits do not fill whole 32-bit words")
    v = values.to(torch.int64)
    start = torch.arange(rows, dtype=torch.int64) * bits
    word, shift = start // 32, (start % 32)[:, None]
    words = torch.zeros(rows * bits // 32 + 1, cols, dtype=torch.int64)
    words.index_add_(0, word, (v << shift) & MASK32)  # bit fields are disjoint, so adding is or-ing
    words.index_add_(0, word + 1, v >> (32 - shift))  # the part that spills into the next word
    words = words[:-1]
    return torch.where(words >= 2**31, words - 2**32, words).to(torch.int32)


def unpack_bits(words: torch.Tensor, bits: int) -> torch.Tensor:
    """[W, N] int32 words -> [W*32/bits, N] int64 unsigned values (inverse of pack_bits)."""
    rows = words.shape[0] * 32 // bits
    w = words.to(torch.int64) & MASK32
    w = torch.cat([w, w.new_zeros(1, w.shape[1])])
    start = torch.arange(rows, dtype=torch.int64, device=words.device) * bits
    word, shift = start // 32, (start % 32)[:, None]
    both = w[word] | (w[word + 1] << 32)  # 64 bits from the value's first word on; the value fits
    return (both >> shift) & ((1 << bits) - 1)


def scale_codes(q_scale: torch.Tensor) -> torch.Tensor:
    """[G, Np/8] int32 -> [G, Np] codes 0..15; column 8j+i is nibble i of word j."""
    shifts = torch.arange(0, 32, 4, device=q_scale.device)
    nibbles = (q_scale.to(torch.int64)[:, :, None] >> shifts) & 0xF
    return nibbles.reshape(q_scale.shape[0], -1)


# -- one layer ----------------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    bits: int
    qrow: int  # first row of q_weight
    rows: int  # rows of the (permuted) weight, K_g


@dataclass(frozen=True)
class QuantLinear:
    """The stored tensors of one quantized linear layer, validated."""

    name: str  # e.g. model.layers.0.mlp.up_proj
    q_weight: torch.Tensor
    q_scale: torch.Tensor
    q_scale_max: torch.Tensor
    groups: tuple[Group, ...]
    q_invperm: torch.Tensor  # int64
    bias: torch.Tensor | None
    out_features: int

    @property
    def in_features(self) -> int:
        return self.q_invperm.numel()

    def to(self, device) -> "QuantLinear":
        move = lambda t: t if t is None or device is None else t.to(device)  # noqa: E731
        return replace(
            self,
            q_weight=move(self.q_weight),
            q_scale=move(self.q_scale),
            q_scale_max=move(self.q_scale_max),
            q_invperm=move(self.q_invperm),
            bias=move(self.bias),
        )


def read_linear(name: str, parts: dict[str, torch.Tensor], in_features: int, out_features: int) -> QuantLinear:
    """Check one layer's tensors against the format's rules; raise Exl2Error naming the tensor."""
    for part in PARTS:
        if part not in parts:
            raise Exl2Error(f"EXL2 tensor {name}.{part} is missing; the layer needs {', '.join(PARTS)}")
    for part, allowed in DTYPES.items():
        if parts[part].dtype not in allowed:
            want = " or ".join(str(d).removeprefix("torch.") for d in allowed)
            raise Exl2Error(f"{name}.{part} has dtype {str(parts[part].dtype).removeprefix('torch.')}, EXL2 stores {want}")
    q_weight, q_scale, q_scale_max = parts["q_weight"], parts["q_scale"], parts["q_scale_max"]
    q_groups, q_invperm = parts["q_groups"], parts["q_invperm"]
    if q_weight.dim() != 2 or q_scale.dim() != 2 or q_scale_max.dim() != 1 or q_groups.dim() != 1 or q_invperm.dim() != 1:
        raise Exl2Error(f"{name}: q_weight and q_scale must be 2-D, q_scale_max, q_groups and q_invperm 1-D")
    width = q_weight.shape[1]
    if width != 8 * q_scale.shape[1]:
        raise Exl2Error(f"{name}.q_scale has {q_scale.shape[1]} columns, q_weight's {width} columns need {width // 8}")
    if not out_features <= width < out_features + 32:
        raise Exl2Error(f"{name}.q_weight has {width} columns, config.json implies {out_features} (padded to 32)")
    groups = _groups(name, q_groups, q_weight.shape[0], in_features)
    if q_scale.shape[0] != len(groups) or q_scale_max.shape[0] != len(groups):
        raise Exl2Error(
            f"{name}: q_groups lists {len(groups)} groups but q_scale has {q_scale.shape[0]} rows "
            f"and q_scale_max {q_scale_max.shape[0]} entries"
        )
    invperm = q_invperm.to(torch.int64) & 0xFFFF if q_invperm.dtype == torch.int16 else q_invperm.to(torch.int64)
    if invperm.numel() != in_features:
        raise Exl2Error(f"{name}.q_invperm has {invperm.numel()} entries, the layer has {in_features} input features")
    if not torch.equal(invperm.sort().values, torch.arange(in_features)):
        raise Exl2Error(f"{name}.q_invperm is not a permutation of 0..{in_features - 1} (repeated or out-of-range rows)")
    bias = parts.get("bias")
    if bias is not None and (bias.dim() != 1 or bias.numel() not in (out_features, width)):
        raise Exl2Error(f"{name}.bias has shape {tuple(bias.shape)}, expected ({out_features},) or ({width},)")
    return QuantLinear(name, q_weight, q_scale, q_scale_max, groups, invperm, bias, out_features)


def _groups(name: str, q_groups: torch.Tensor, q_rows: int, in_features: int) -> tuple[Group, ...]:
    """(bits, first row) pairs -> groups; they must tile q_weight and cover every input feature."""
    pairs = (q_groups.to(torch.int64) & 0xFFFF).tolist()
    if not pairs or len(pairs) % 2:
        raise Exl2Error(f"{name}.q_groups has {len(pairs)} entries; it holds (bits, first row) pairs")
    bits, starts = pairs[0::2], pairs[1::2]
    ends = starts[1:] + [q_rows]
    groups, covered = [], 0
    for g, (b, start, end) in enumerate(zip(bits, starts, ends)):
        if b not in BITS:
            raise Exl2Error(f"{name}.q_groups: group {g} has {b} bits; EXL2 allows {', '.join(map(str, BITS))}")
        if (g == 0 and start != 0) or end <= start or (end - start) * 32 % b:
            raise Exl2Error(
                f"{name}.q_groups: group {g} spans q_weight rows {start}..{end}, "
                "which is not a positive whole number of rows at its bit width"
            )
        rows = (end - start) * 32 // b
        groups.append(Group(b, start, rows))
        covered += rows
    if covered != in_features:
        raise Exl2Error(
            f"{name}.q_groups covers {covered} rows but the layer has {in_features} input features "
            f"(q_weight has {q_rows} rows); the tensor is truncated or the groups are wrong"
        )
    return tuple(groups)


def dequantize(layer: QuantLinear, dtype: torch.dtype) -> torch.Tensor:
    """The layer's [out_features, in_features] weight in `dtype`, in Hugging Face's row order."""
    return packed_rows(layer)[layer.q_invperm, : layer.out_features].t().to(dtype).contiguous()


def packed_rows(layer: QuantLinear) -> torch.Tensor:
    """The fp16 weight [in_features, padded out_features] in stored (permuted) row order.

    The fp16 chain is exllamav2's: M = f16(q_scale_max/256), s = f16((code+1)^2*M),
    w = f16((q - 2^(b-1))*s). Each product of a small integer and an fp16 value is
    exact in fp32, so computing in fp32 and rounding to fp16 reproduces it bit for bit.
    """
    half = torch.float16
    m = (layer.q_scale_max.float() / 256).to(half).float()
    scales = ((scale_codes(layer.q_scale) + 1) ** 2 * m[:, None]).to(half).float()  # [G, Np]
    rows = torch.empty(layer.in_features, layer.q_weight.shape[1], dtype=half, device=layer.q_weight.device)
    row = 0
    for g, group in enumerate(layer.groups):
        words = layer.q_weight[group.qrow : group.qrow + group.rows * group.bits // 32]
        q = unpack_bits(words, group.bits) - (1 << (group.bits - 1))
        rows[row : row + group.rows] = (q.float() * scales[g]).to(half)
        row += group.rows
    return rows


def bias(layer: QuantLinear, dtype: torch.dtype) -> torch.Tensor | None:
    return None if layer.bias is None else layer.bias[: layer.out_features].to(dtype)


class PackedWeight:
    """A weight kept packed: repacked once for torch's int4 CPU matmul (`int4`), or
    unpacked each time the decoder uses it (pure torch, any device).

    It stands in for a tensor through PyTorch's `__torch_function__` protocol: the
    decoder fuses q/k/v and gate/up with `torch.cat` and multiplies with `F.linear`,
    the only two operations it applies to weights. The product permutes the input
    features instead of the unpacked rows (x[:, perm] @ W_packed), as exllamav2's
    kernel does, which saves a gather and a transpose of the weight.
    """

    def __init__(self, layers: list[QuantLinear], dtype: torch.dtype, int4: bool = False):
        self.layers = layers
        self.dtype = dtype
        self.int4 = int4  # repacked for torch's int4 CPU matmul when the decoder builds its layers
        self.perms = [torch.argsort(layer.q_invperm) for layer in layers]

    @property
    def shape(self) -> torch.Size:
        return torch.Size((sum(x.out_features for x in self.layers), self.layers[0].in_features))

    def to(self, device=None, dtype=None) -> "PackedWeight":
        return PackedWeight([x.to(device) for x in self.layers], dtype or self.dtype, self.int4)

    def kernel(self):
        """x -> x @ W.T as this weight runs: int4 matrices built once (exl2_int4), or unpacked per use."""
        if not self.int4:
            return self.linear
        from .exl2_int4 import matrices
        from .host_memory import release_pages

        parts = matrices(self.layers, self.dtype)
        release_pages(t for layer in self.layers for t in (layer.q_weight, layer.q_scale, layer.q_scale_max, layer.q_invperm))
        return parts[0] if len(parts) == 1 else lambda x: torch.cat([part(x) for part in parts], dim=-1)

    def linear(self, x: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
        parts = [
            x[..., perm] @ packed_rows(layer)[:, : layer.out_features].to(self.dtype)
            for layer, perm in zip(self.layers, self.perms)
        ]
        y = torch.cat(parts, dim=-1)
        return y if bias is None else y + bias

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is torch.cat:
            parts = args[0]
            return PackedWeight([x for p in parts for x in p.layers], parts[0].dtype, parts[0].int4)
        if func is F.linear:
            x, weight, *rest = args
            return weight.linear(x, *rest, **kwargs)
        raise TypeError(f"a packed EXL2 weight supports torch.cat and F.linear, not {func.__name__}")


# -- a model folder -------------------------------------------------------------------


def is_exl2_folder(folder: Path) -> bool:
    """Whether the folder's safetensors hold `.q_weight` tensors (read from headers only)."""
    return any(name.endswith(".q_weight") for header in _headers(Path(folder)).values() for name in header)


def _headers(folder: Path) -> dict[Path, dict]:
    """The safetensors headers of every *.safetensors file (an index file is ignored: EXL2
    converters copy the source model's stale one)."""
    headers = {}
    for path in sorted(folder.glob("*.safetensors")):
        try:
            with open(path, "rb") as f:
                (length,) = struct.unpack("<Q", f.read(8))
                header = json.loads(f.read(length))
                data_size = f.seek(0, 2) - 8 - length
        except (struct.error, ValueError, OSError) as e:
            raise Exl2Error(f"{path}: not a safetensors file ({e})") from None
        header.pop("__metadata__", None)
        for name, info in header.items():
            end = info.get("data_offsets", [0, 0])[1]
            if end > data_size:
                raise Exl2Error(
                    f"{path.name}: tensor {name} is truncated (needs {end} bytes of data, the file has {data_size}); "
                    "the file is incomplete, copy or download it again"
                )
        headers[path] = header
    return headers


def iter_exl2(folder: Path, config, dtype: torch.dtype, mode: str = "dequantize") -> Iterator[tuple[str, torch.Tensor]]:
    """Every tensor of an EXL2 model in Hugging Face naming; linear layers dequantized one at a
    time (mode "dequantize"), so memory holds one dense layer beyond the model, or wrapped as
    PackedWeight ("packed": unpacked per use; "int4": repacked for the int4 kernel)."""
    from safetensors import safe_open

    from .model import expected_shapes

    folder = Path(folder)
    where = {name: path for path, header in _headers(folder).items() for name in header}
    shapes = expected_shapes(config)
    prefixes = {name.rsplit(".", 1)[0] for name in where if name.rsplit(".", 1)[-1] in PARTS}
    files = {path: safe_open(str(path), framework="pt") for path in set(where.values())}
    get = lambda name: files[where[name]].get_tensor(name)  # noqa: E731
    for prefix in sorted(prefixes):
        if prefix + ".weight" in where:
            raise Exl2Error(f"layer {prefix} has both EXL2 tensors and a dense {prefix}.weight; the folder mixes two models")
        if prefix + ".weight" not in shapes:
            raise Exl2Error(f"unexpected EXL2 layer {prefix} for {config.architecture}; is config.json for these weights?")
    for name in where:  # dense tensors; a quantized layer's stray q_perm is skipped (exllamav2 ignores it too)
        if name.rpartition(".")[0] not in prefixes:
            yield name, get(name)
    for prefix in sorted(prefixes):
        out_features, in_features = shapes[prefix + ".weight"]
        parts = {p: get(f"{prefix}.{p}") for p in (*PARTS, "bias") if f"{prefix}.{p}" in where}
        layer = read_linear(prefix, parts, in_features, out_features)
        yield prefix + ".weight", dequantize(layer, dtype) if mode == "dequantize" else PackedWeight([layer], dtype, mode == "int4")
        if layer.bias is not None:
            yield prefix + ".bias", bias(layer, dtype)
