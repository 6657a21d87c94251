"""Linear layers whose weights are packed once, at load, for oneDNN on CPU.

Why: on CPU, `F.linear` sends the few rows of a decode step through MKL's GEMV,
which reads float32 weights at about a quarter of this class of machine's memory
bandwidth. oneDNN's blocked weight layout (the one torch.compile's CPU freezing
uses) reads them several times faster, and is faster for prefill-sized batches too.
Where oneDNN cannot pack a weight (GPU, float16 without CPU support), the layer
falls back to `F.linear` on the plain weight; EXL2 weights kept packed run their own
kernel (exl2_int4, or unpacking per use).
"""

from functools import cache

import torch
import torch.nn.functional as F

from .exl2 import PackedWeight


class Linear:
    """y = x @ weight.T + bias, through the fastest path this weight allows."""

    __slots__ = ("weight", "bias", "_packed", "_kernel")

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None = None):
        self.bias = bias
        # An EXL2 weight kept packed brings its own product (exl2.PackedWeight.kernel).
        self._kernel = weight.kernel() if isinstance(weight, PackedWeight) else None
        self._packed = onednn_pack(weight) if self._kernel is None else None
        # The packed copy replaces the plain one, so the model is not held twice.
        self.weight = None if self._packed is not None or self._kernel is not None else weight

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self._packed is not None:
            return torch.ops.mkldnn._linear_pointwise(x, self._packed, self.bias, "none", [], "")
        if self._kernel is not None:
            y = self._kernel(x)
            return y if self.bias is None else y + self.bias
        return F.linear(x, self.weight, self.bias)


def onednn_pack(weight: torch.Tensor) -> torch.Tensor | None:
    """The weight in oneDNN's layout, or None where oneDNN cannot take it."""
    if type(weight) is not torch.Tensor or weight.device.type != "cpu" or weight.dtype not in _onednn_dtypes():
        return None
    return torch.ops.mkldnn._reorder_linear_weight(weight.contiguous(), None)


@cache
def _onednn_dtypes() -> tuple:
    """The dtypes oneDNN packs on this CPU and torch build, probed once on a tiny weight."""
    return tuple(dtype for dtype in (torch.float32, torch.bfloat16, torch.float16) if _packs(dtype))


def _packs(dtype: torch.dtype) -> bool:
    try:
        weight = torch.ones(8, 8, dtype=dtype)
        packed = torch.ops.mkldnn._reorder_linear_weight(weight, None)
        out = torch.ops.mkldnn._linear_pointwise(torch.ones(1, 8, dtype=dtype), packed, None, "none", [], "")
    except (RuntimeError, AttributeError, NotImplementedError):
        return False  # no oneDNN in this build, or no CPU support for this dtype
    return bool((out == 8).all())
