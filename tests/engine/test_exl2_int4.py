"""EXL2 layers repacked for torch's int4 CPU matmul hold exactly the reader's weights: every bit
width, bit mixes, short groups, widths that are not multiples of 16, fused layers with one or
several permutations. The weight a matrix effectively uses is read back through an identity input."""

import pytest
import torch

from toolsmith.core.engine import exl2_int4
from toolsmith.core.engine.exl2 import dequantize, read_linear, scale_codes, unpack_bits
from toolsmith.core.engine.exl2_int4 import Int4Matrix, matrices
from toolsmith.core.engine.exl2_writer import plan_groups, quantize_linear

pytestmark = pytest.mark.skipif(not exl2_int4.available(torch.float32), reason="this torch has no int4 CPU kernel")

# (bit shares, group size): each width alone, exllamav2's head mixes and mixes across the 4-bit line
LAYOUTS = {
    "2": ([(2, 1.0)], 32),
    "3": ([(3, 1.0)], 32),
    "4": ([(4, 1.0)], 128),
    "5": ([(5, 1.0)], 128),
    "6": ([(6, 1.0)], 128),
    "8": ([(8, 1.0)], 128),
    "4+2": ([(4, 0.3), (2, 0.7)], 32),
    "6+4": ([(6, 0.15), (4, 0.85)], 32),
    "8+6": ([(8, 0.15), (6, 0.85)], 128),
    "5+4": ([(5, 0.4), (4, 0.6)], 128),
}


def quant_layer(out_features, in_features, layout, seed=0, perm=None):
    shares, group_size = LAYOUTS[layout]
    weight = torch.randn(out_features, in_features, generator=torch.Generator().manual_seed(seed))
    tensors = quantize_linear(weight, None, plan_groups(in_features, shares, group_size), perm)
    return read_linear(f"layer-{layout}", tensors, in_features, out_features)


def exact_weight(layer) -> torch.Tensor:
    """[out, in] float64 (q - 2^(b-1)) * s with the fp16-rounded scales of exllamav2's chain, the
    product left unrounded: the reader rounds it to fp16 (one rounding), the int4 kernel does not."""
    m = (layer.q_scale_max.float() / 256).half().double()
    scales = ((scale_codes(layer.q_scale) + 1) ** 2 * m[:, None]).half().double()
    rows = []
    for g, group in enumerate(layer.groups):
        words = layer.q_weight[group.qrow : group.qrow + group.rows * group.bits // 32]
        rows.append((unpack_bits(words, group.bits) - (1 << (group.bits - 1))).double() * scales[g])
    return torch.cat(rows)[layer.q_invperm, : layer.out_features].t()


def effective(matrix, in_features) -> torch.Tensor:
    """The [out, in] weight a matrix multiplies by, read back through the identity."""
    return matrix(torch.eye(in_features)).t().double()


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_repacked_layer_holds_the_readers_weights(layout):
    layer = quant_layer(200, 288, layout)  # 288 rows: groups of 128 end on a short one; 200 columns pad to 208
    [matrix] = matrices([layer], torch.float32)
    weight = effective(matrix, 288)
    assert torch.equal(weight, exact_weight(layer))
    # the reader's fp16 weights are the same values after their one rounding
    torch.testing.assert_close(weight.half(), dequantize(layer, torch.float16).double().half(), atol=0, rtol=0)


def test_wide_layers_are_converted_in_column_chunks():
    layer = quant_layer(exl2_int4.N_CHUNK + 80, 64, "4", seed=1)
    [matrix] = matrices([layer], torch.float32)
    assert torch.equal(effective(matrix, 64), exact_weight(layer))


def test_layers_sharing_a_permutation_become_one_matrix():
    """q/k/v as exllamav2 writes them: one act-order, different bit mixes (a wide group in one only)."""
    perm = torch.randperm(256, generator=torch.Generator().manual_seed(3))
    layers = [quant_layer(n, 256, layout, seed=i, perm=perm) for i, (n, layout) in enumerate([(96, "4"), (32, "6+4"), (48, "4+2")])]
    [matrix] = matrices(layers, torch.float32)
    assert torch.equal(effective(matrix, 256), torch.cat([exact_weight(layer) for layer in layers]))


def test_layers_with_their_own_permutations_stay_separate_matrices():
    layers = [quant_layer(64, 128, layout, seed=i) for i, layout in enumerate(["4", "3", "5+4"])]
    parts = matrices(layers, torch.float32)
    assert len(parts) == 3
    assert torch.equal(torch.cat([effective(m, 128) for m in parts]), torch.cat([exact_weight(layer) for layer in layers]))


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_half_precision_activations_use_the_same_values(dtype):
    if not exl2_int4.available(dtype):
        pytest.skip(f"no int4 CPU kernel for {dtype}")
    layer = quant_layer(64, 256, "8+6", seed=4)
    [matrix] = matrices([layer], dtype)
    x = torch.randn(4, 256).to(dtype)
    want = x.double() @ exact_weight(layer).t()
    torch.testing.assert_close(matrix(x).double(), want, rtol=2e-2, atol=2e-2 * want.abs().max().item())


def test_wide_groups_cost_eight_bits_narrow_ones_four():
    four, eight = (matrices([quant_layer(64, 256, layout)], torch.float32)[0] for layout in ("4", "8"))
    assert four.weight.numel() == 64 * 256 // 2 and eight.weight.numel() == 64 * 256
