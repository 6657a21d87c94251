"""The EXL2 bit layout, scale encoding and writer -> reader round trip, against hand-made expectations."""

import pytest
import torch

from toolsmith.core.engine.exl2 import QuantLinear, dequantize, pack_bits, read_linear, unpack_bits
from toolsmith.core.engine.exl2_writer import _pack_nibbles, plan_groups, quantize_linear

# One block of values v_i = i mod 2^b per width, packed LSB-first: the words exllamav2's converter writes
# (pack_columns, exllamav2_ext/cuda/pack_tensor.cu:117-248). test_exl2_reference.py re-derives them from a
# port of that packer and reads them back through a port of its loader's shuffle + dequant (quant/qdq_*.cuh).
GOLDEN_WORDS = {
    2: [0xE4E4E4E4],
    3: [0x88FAC688, 0xC688FAC6, 0xFAC688FA],
    4: [0x76543210],
    5: [0x8A418820, 0xC5A92839, 0xCA307B9A, 0x38BDAB49, 0xFFBBCDEB],
    6: [0x440C2040, 0xA2481C61, 0x3CE34C2C],
    8: [0x03020100],
}


def int32(words: list[int]) -> torch.Tensor:
    return torch.tensor([w - (1 << 32) if w >= 1 << 31 else w for w in words], dtype=torch.int32)


@pytest.mark.parametrize("bits", sorted(GOLDEN_WORDS))
def test_golden_words_pack_and_unpack(bits):
    words = GOLDEN_WORDS[bits]
    values = torch.arange(len(words) * 32 // bits) % (1 << bits)
    assert torch.equal(pack_bits(values[:, None], bits)[:, 0], int32(words))
    assert torch.equal(unpack_bits(int32(words)[:, None], bits)[:, 0], values)


@pytest.mark.parametrize("bits", sorted(GOLDEN_WORDS))
def test_columns_are_independent_bit_strings(bits):
    values = torch.randint(0, 1 << bits, (64, 5), generator=torch.Generator().manual_seed(bits))
    words = pack_bits(values, bits)
    assert words.shape == (64 * bits // 32, 5)
    for col in range(5):
        assert torch.equal(pack_bits(values[:, col : col + 1], bits)[:, 0], words[:, col])
    assert torch.equal(unpack_bits(words, bits), values)


def layer(q_weight, q_scale, q_scale_max, groups, in_features, out_features, invperm=None) -> QuantLinear:
    parts = {
        "q_weight": q_weight,
        "q_scale": q_scale,
        "q_scale_max": q_scale_max,
        "q_groups": torch.tensor(groups, dtype=torch.int16),
        "q_invperm": (torch.arange(in_features) if invperm is None else invperm).to(torch.int32),
    }
    return read_linear("probe", parts, in_features, out_features)


def test_scale_nibble_order_and_formula():
    """Column n's scale code is nibble n%8 of word n//8; scale = (code+1)^2 * q_scale_max/256."""
    codes = torch.arange(32) % 16
    q_scale = int32([0x76543210, 0xFEDCBA98] * 2)[None, :]
    assert torch.equal(_pack_nibbles(codes), q_scale[0])
    ones = torch.full((32, 32), 128 + 1)  # 8-bit values one above the zero point 128
    q = layer(pack_bits(ones, 8), q_scale, torch.tensor([256.0], dtype=torch.float16), [8, 0], 32, 32)
    weight = dequantize(q, torch.float32)
    assert torch.equal(weight, ((codes + 1) ** 2).float()[:, None].expand(32, 32))


def test_fp16_chain_matches_half_arithmetic_including_subnormal_scales():
    """Each step is rounded to fp16 like exllamav2's reconstruct, also where q_scale_max/256 is subnormal."""
    gen = torch.Generator().manual_seed(0)
    groups, rows = 8, 32
    scale_max = torch.logspace(-4, -1, groups).to(torch.float16)
    codes = torch.randint(0, 16, (groups, 32), generator=gen)
    values = torch.randint(0, 16, (groups * rows, 32), generator=gen)
    q_weight = torch.cat([pack_bits(values[g * rows : (g + 1) * rows], 4) for g in range(groups)])
    q_scale = torch.stack([_pack_nibbles(c) for c in codes])
    pairs = [x for g in range(groups) for x in (4, g * rows * 4 // 32)]
    got = dequantize(layer(q_weight, q_scale, scale_max, pairs, groups * rows, 32), torch.float16)
    m = scale_max / torch.tensor(256, dtype=torch.float16)  # fp16 ops, as on the GPU
    scale = (codes + 1).pow(2).to(torch.float16) * m[:, None]
    expected = (values - 8).to(torch.float16) * scale.repeat_interleave(rows, dim=0)
    assert (m.float() < 2**-14).any(), "the range must reach fp16 subnormals"
    assert torch.equal(got, expected.t())


def test_permutation_is_undone():
    """Packed row k holds input feature perm[k]; q_invperm = argsort(perm) puts it back."""
    perm = torch.randperm(64, generator=torch.Generator().manual_seed(3))
    values = (perm % 16)[:, None].expand(64, 32)  # packed row k carries feature perm[k]'s id mod 16
    q = layer(pack_bits(values, 4), int32([0] * 4)[None, :], torch.tensor([256.0], dtype=torch.float16), [4, 0], 64, 32, torch.argsort(perm))
    weight = dequantize(q, torch.float32)  # scale 1/256 * 256 = 1: weight = value - 8
    assert torch.equal(weight, ((torch.arange(64) % 16) - 8).float()[None, :].expand(32, 64))


PLANS = {
    "8/6/4": [(8, 32), (6, 32), (4, 64)],
    "5/3": [(5, 64), (3, 64)],
    "6": [(6, 128)],
    "4/2": [(4, 32), (2, 96)],
    "uneven": plan_groups(128, [(8, 0.15), (6, 0.85)], group_size=64),
}


@pytest.mark.parametrize("plan", sorted(PLANS))
def test_round_trip_within_the_quantization_bound(plan):
    """Every weight is within ~half a step of its group's grid: 1.25 * max|w| / (2^b - 1)."""
    gen = torch.Generator().manual_seed(7)
    out_features, in_features = 40, 128  # 40 columns are padded to 64 on disk
    weight = torch.randn(out_features, in_features, generator=gen) * torch.rand(in_features, generator=gen) * 0.1
    bias = torch.randn(out_features, generator=gen)
    tensors = quantize_linear(weight, bias, PLANS[plan])
    assert tensors["q_weight"].shape[1] == 64 and tensors["bias"].shape == (64,)
    assert [b for b in tensors["q_groups"][0::2].tolist()] == sorted(b for b, _ in PLANS[plan])[::-1]
    q = read_linear("probe", tensors, in_features, out_features)
    got = dequantize(q, torch.float32)
    assert got.shape == weight.shape
    assert torch.equal(q.bias[:out_features], bias.to(torch.float16))
    perm = torch.argsort(q.q_invperm)
    row = 0
    for bits, rows in PLANS[plan]:
        features = perm[row : row + rows]
        bound = 1.25 * weight[:, features].abs().max() / (2**bits - 1)
        assert (got[:, features] - weight[:, features]).abs().max() <= bound
        row += rows


def test_more_bits_give_smaller_errors():
    weight = torch.randn(64, 128, generator=torch.Generator().manual_seed(11))
    errors = []
    for bits in (2, 3, 4, 5, 6, 8):
        q = read_linear("probe", quantize_linear(weight, None, [(bits, 128)]), 128, 64)
        errors.append((dequantize(q, torch.float32) - weight).abs().mean().item())
    assert errors == sorted(errors, reverse=True) and errors[-1] < errors[0] / 30


def test_act_order_puts_the_largest_features_in_the_widest_group():
    weight = torch.randn(32, 64, generator=torch.Generator().manual_seed(5))
    weight[:, 50] *= 100
    tensors = quantize_linear(weight, None, [(8, 32), (2, 32)])
    assert tensors["q_invperm"][50] == 0  # feature 50 is packed first, in the 8-bit group


def test_all_zero_weights_dequantize_to_zero():
    q = read_linear("probe", quantize_linear(torch.zeros(32, 32), None, [(3, 32)]), 32, 32)
    assert torch.equal(dequantize(q, torch.float32), torch.zeros(32, 32))
