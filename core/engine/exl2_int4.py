"""EXL2 layers repacked once, at load and losslessly, for torch's int4 CPU matmul.

Why: dequantizing EXL2 at load makes memory and per-token bytes those of the dense
model, and unpacking on every use is ~100x slower. `torch._weight_int4pack_mm_for_cpu`
reads 4-bit values with a (scale, zero) pair per column and group of K rows,
w = (q - 8) * scale + zero, so each EXL2 group maps onto it exactly:

  * b <= 4 bits: q4 = q - 2^(b-1) + 8, the group's scale, zero 0;
  * b > 4 bits (5, 6, 8): q - 2^(b-1) = 16*hi + lo with lo in 0..15, so the row is
    stored twice: hi + 8 with scale 16*s, and lo with scale s and zero 8*s; the
    activation feeds both copies (8 bits per weight read instead of 16 dense);
  * the act-order permutation is applied to the activation (one gather per call);
  * the kernel has one group size (32..256) per matrix, so runs of rows that share
    scales are padded to multiples of 32 with rows whose weight is 0.

Layers that share an input and a permutation (q/k/v and gate/up in exllamav2's
files: one Hessian, one act-order) become one matrix and one call.
"""

from functools import cache

import torch

from .exl2 import QuantLinear, scale_codes, unpack_bits

KERNEL_GROUPS = (256, 128, 64, 32)
ALIGN = 32  # rows: the smallest group size the kernel takes
N_ALIGN = 16  # columns: the kernel's packing needs N % 16 == 0
N_CHUNK = 1024  # columns repacked at once (a multiple of the kernel's 64-column blocks): small transients


@cache
def available(dtype: torch.dtype) -> bool:
    """Whether this torch build runs the int4 CPU kernel for activations of `dtype`."""
    try:
        weight = torch._convert_weight_to_int4pack_for_cpu(torch.full((16, 32), 9, dtype=torch.int32), 1)
        scales = torch.zeros(1, 16, 2, dtype=dtype)
        scales[..., 0] = 1
        out = torch._weight_int4pack_mm_for_cpu(torch.ones(1, 32, dtype=dtype), weight, 32, scales)
    except (RuntimeError, AttributeError, NotImplementedError):
        return False
    return bool((out == 32).all())


class Int4Matrix:
    """One int4 matmul standing for consecutive EXL2 layers that share their input order."""

    def __init__(self, layers: list[QuantLinear], dtype: torch.dtype):
        segments = _segments(layers)
        self.group_size = next(g for g in KERNEL_GROUPS if all(_pad(b - a) % g == 0 for a, b, _ in segments))
        self.out_features = sum(layer.out_features for layer in layers)
        width = -(-self.out_features // N_ALIGN) * N_ALIGN
        rows = sum(_pad(b - a) * (2 if split else 1) for a, b, split in segments)
        scales = torch.zeros(rows // self.group_size, width, 2)
        self.weight = torch.empty(width, rows // 2, dtype=torch.uint8)
        for start in range(0, width, N_CHUNK):  # a chunk of columns at a time: no full-size int32 copy
            q4 = torch.full((min(N_CHUNK, width - start), rows), 8, dtype=torch.int32)  # 8 is 0 at zero point 0
            col = 0
            for layer in layers:
                lo, hi = max(start, col), min(start + N_CHUNK, col + layer.out_features)
                if lo < hi:
                    _fill(layer, segments, self.group_size, (lo - col, hi - col), q4[lo - start : hi - start], scales[:, lo:hi])
                col += layer.out_features
            self.weight[start : start + len(q4)] = torch._convert_weight_to_int4pack_for_cpu(q4, 1)
        perm = torch.argsort(layers[0].q_invperm)  # packed row k holds input feature perm[k]
        self.index = torch.zeros(rows, dtype=torch.int64)
        offset = 0
        for a, b, split in segments:
            for _ in range(2 if split else 1):
                self.index[offset : offset + b - a] = perm[a:b]
                offset += _pad(b - a)
        self.scales = scales.to(dtype)
        self.padded = width != self.out_features

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        lead = x.shape[:-1]
        y = torch._weight_int4pack_mm_for_cpu(x.reshape(-1, x.shape[-1])[:, self.index], self.weight, self.group_size, self.scales)
        if self.padded:
            y = y[:, : self.out_features]
        return y.view(*lead, y.shape[-1])

    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in (self.weight, self.scales, self.index))


def matrices(layers: list[QuantLinear], dtype: torch.dtype) -> list[Int4Matrix]:
    """The fused layers as few int4 matrices: one per run of layers sharing a permutation."""
    runs: list[list[QuantLinear]] = []
    for layer in layers:
        if runs and torch.equal(runs[-1][0].q_invperm, layer.q_invperm):
            runs[-1].append(layer)
        else:
            runs.append([layer])
    return [Int4Matrix(run, dtype) for run in runs]


def _pad(rows: int) -> int:
    return -(-rows // ALIGN) * ALIGN


def _segments(layers: list[QuantLinear]) -> list[tuple[int, int, bool]]:
    """[start, end) row ranges (packed order) in which every layer has one group, and
    whether any layer's group there is wider than 4 bits (stored as two copies)."""
    starts, wide = {layers[0].in_features}, []
    for layer in layers:
        row = 0
        for group in layer.groups:
            starts.add(row)
            if group.bits > 4:
                wide.append((row, row + group.rows))
            row += group.rows
    cuts = sorted(starts)
    return [(a, b, any(lo <= a < hi for lo, hi in wide)) for a, b in zip(cuts, cuts[1:])]


def _signed_values(layer: QuantLinear, group, cols: tuple[int, int]) -> torch.Tensor:
    """One group's values minus the zero point, int32 [rows, columns in `cols`]."""
    words = layer.q_weight[group.qrow : group.qrow + group.rows * group.bits // 32, cols[0] : cols[1]]
    return (unpack_bits(words, group.bits) - (1 << (group.bits - 1))).to(torch.int32)


def _fill(layer: QuantLinear, segments, group_size: int, cols, q4: torch.Tensor, scales: torch.Tensor) -> None:
    """Write columns `cols` of one layer: values into q4 [columns, rows], (scale, zero) into
    scales [rows/g, columns, 2]."""
    half = torch.float16
    m = (layer.q_scale_max.float() / 256).to(half).float()
    codes = scale_codes(layer.q_scale)[:, cols[0] : cols[1]]
    group_scales = ((codes + 1) ** 2 * m[:, None]).to(half).float()  # [G, columns]
    bounds, row = [], 0
    for group in layer.groups:
        bounds.append((row, row + group.rows))
        row += group.rows
    offset, g, values = 0, None, None
    for a, b, split in segments:
        index = next(i for i, (lo, hi) in enumerate(bounds) if lo <= a < hi)
        group = layer.groups[index]
        if index != g:  # each group unpacked once
            values, g = _signed_values(layer, group, cols), index
        part = values[a - bounds[index][0] : b - bounds[index][0]]
        s = group_scales[index]
        rows = _pad(b - a)
        blocks = lambda start: slice((offset + start) // group_size, (offset + start + rows) // group_size)  # noqa: E731
        if not split:
            q4[:, offset : offset + b - a] = (part + 8).t()
            scales[blocks(0), :, 0] = s
        elif group.bits > 4:
            q4[:, offset : offset + b - a] = ((part >> 4) + 8).t()
            scales[blocks(0), :, 0] = 16 * s
            q4[:, offset + rows : offset + rows + rows] = 0  # lo copy: pad rows at q 0 cancel zero 8s
            q4[:, offset + rows : offset + rows + b - a] = (part & 15).t()
            scales[blocks(rows), :, 0] = s
            scales[blocks(rows), :, 1] = 8 * s
        else:  # a narrow group where another layer is wide: the value in the first copy, 0 in the second
            q4[:, offset : offset + b - a] = (part + 8).t()
            scales[blocks(0), :, 0] = s
        offset += rows * (2 if split else 1)
