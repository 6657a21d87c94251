"""Our EXL2 reader and writer against a line-by-line Python port of exllamav2 0.3.2's own code.

exllamav2 cannot run here (its kernels are CUDA), so this file ports, statement by statement, the
parts that decide what the stored tensors mean (paths are in github.com/turboderp-org/exllamav2 at
v0.3.2, exllamav2/exllamav2_ext/ abbreviated ext/):

  packing, as its converter writes files:
    ext/cuda/pack_tensor.cu:117-248   pack_columns: q_weight, b-bit values LSB first, 32 rows a block
    ext/cuda/pack_tensor.cu:10-35     pack_rows_4: q_scale, code qscale-1 in nibble n%8 of word n//8
    exllamav2/conversion/adaptivegptq.py:608-674  pack(): q_groups (bits, first q_weight row) pairs,
                                      q_invperm = argsort(perm) as int32, q_scale_max fp16
  loading:
    exllamav2/module.py:119-120       q_perm = argsort(q_invperm)
    exllamav2/ext.py:336-341          q_scale_max *= 1/256 (fp16), group map from q_groups
    ext/ext_qmatrix.cpp:341-361       make_group_map: per row (group, rows left in the group)
    ext/cuda/q_matrix.cu:130-159      rows per width, cumulated in the order 8, 6, 5, 4, 3, 2
    ext/cuda/q_matrix.cu:21-44        shuffle_kernel: in-place bit shuffles for the fast dequantizers
    ext/cuda/quant/qdq_{2,3,4,5,6}.cuh  shuffle_* and the QMODE 1 dequant_* (config.h: QMODE_8BIT 0)
    ext/cuda/quant/qdq_8.cuh:21-34    dequant_8bit_8 (no shuffle)
    ext/cuda/quant/qdq_util.cuh:24-30 dq_scale: half((q+1)^2) * max_scale, one fp16 rounding
    ext/cuda/q_matrix.cu:328-497      reconstruct_kernel: 128-row blocks, q_weight offset from the
                                      rows of each width before the block, out[perm[k]] = dq * scale
    exllamav2/linear.py:486-494       get_weight_tensor_dq: that [in_features, padded out] fp16 matrix

The port works on whole columns at once (the kernels are per column) with uint32 arithmetic in
int64 tensors, and fp16 products in torch.float16 (one rounding each, like __hmul).
"""

import pytest
import torch

from test_exl2_format import GOLDEN_WORDS

from toolsmith.core.engine.exl2 import dequantize, pack_bits, read_linear, unpack_bits
from toolsmith.core.engine.exl2_writer import HEAD_PLANS, _pack_nibbles, plan_groups, quantize_linear

M32 = 0xFFFFFFFF


# -- exllamav2's converter side (pack_tensor.cu) ----------------------------------------------


def _wshift(x: torch.Tensor, j: int) -> torch.Tensor:
    """pack_tensor.cu:103-115."""
    if j < 0:
        return torch.zeros_like(x) if j <= -32 else x >> -j
    return torch.zeros_like(x) if j >= 32 else (x << j) & M32


def exl_pack_columns(values: torch.Tensor, bits: int) -> torch.Tensor:
    """pack_tensor.cu:117-248, pack_columns_kernel<bits>: [rows, N] values -> [rows*bits/32, N] words."""
    x = values.to(torch.int64)
    out_rows = x.shape[0] * bits // 32
    out = torch.zeros(out_rows, x.shape[1], dtype=torch.int64)
    if bits in (2, 4, 8):
        for out_row in range(out_rows):
            row = out_row * 32 // bits
            for i in range(32 // bits):
                out[out_row] |= x[row + i] << (i * bits)
    else:
        per_block = {3: (3, 32), 5: (5, 32), 6: (3, 16)}[bits]  # (words, values) of one block
        words, count = per_block
        for out_row in range(0, out_rows, words):
            row = out_row * 32 // bits
            for i in range(count):
                j = i * bits
                for w in range(words):
                    out[out_row + w] |= _wshift(x[row + i], j - 32 * w)
    return _int32(out)


def exl_pack_rows_4(qscale: torch.Tensor) -> torch.Tensor:
    """pack_tensor.cu:10-35: [G, N] qscale 1..16 -> [G, N/8] words, each nibble qscale-1."""
    x = (qscale.to(torch.int64) - 1) & 0xFFFF  # uint16 x -= 1
    out = torch.zeros(x.shape[0], x.shape[1] // 8, dtype=torch.int64)
    for i in range(8):
        out |= (x[:, i::8] << (i * 4)) & M32
    return _int32(out)


def _int32(words: torch.Tensor) -> torch.Tensor:
    words = words & M32
    return torch.where(words >= 2**31, words - 2**32, words).to(torch.int32)


# -- exllamav2's loader side: shuffles and fast dequantizers (quant/qdq_*.cuh) -------------------


def _h2(w: torch.Tensor, mask: int) -> list[torch.Tensor]:
    """half2_uint32((w & (mask | mask << 16)) | 0x64006400) after its hadd2/hfma2 with the matching
    z/y constants is exactly the integer field under `mask` (minus the zero point, applied later):
    [low half's field, high half's field]."""
    shift = (mask & -mask).bit_length() - 1
    return [(w & mask) >> shift, ((w >> 16) & mask) >> shift]


def shuffle_2bit_16(q):  # qdq_2.cuh:13-32
    qa, qb = q[0], torch.zeros_like(q[0])
    for i in range(8):
        qa0, qa1 = qa & 0x03, (qa & 0x0C) >> 2
        qa = qa >> 4
        qb = qb | (qa1 << (i * 2 + 16)) | (qa0 << (i * 2))
    return [qb]


def dequant_2bit_16(q):  # qdq_2.cuh:34-76
    qa = q[0]
    out = []
    for m in (0x03, 0x0C, 0x30, 0xC0):
        out += _h2(qa, m)
    qa = qa >> 8
    for m in (0x03, 0x0C, 0x30, 0xC0):
        out += _h2(qa, m)
    return [v - 2 for v in out]


def shuffle_3bit_32(q):  # qdq_3.cuh:15-67
    qa, qb, qc = q
    qd = qc >> 26
    qc = ((qc << 4) & M32) | (qb >> 28)
    qb = ((qb << 2) & M32) | (qa >> 30)
    z = []
    for w in (qa, qb, qc):
        acc = torch.zeros_like(w)
        for i in range(5):
            t0, t1 = w & 0x07, (w & 0x38) >> 3
            w = w >> 6
            acc = acc | (t0 << (i * 3)) | (t1 << (i * 3 + 16))
        z.append(acc)
    za, zb, zc = z
    za = za | (((qd & 0x01) >> 0) << 15) | (((qd & 0x08) >> 3) << 31)
    zb = zb | (((qd & 0x02) >> 1) << 15) | (((qd & 0x10) >> 4) << 31)
    zc = zc | (((qd & 0x04) >> 2) << 15) | (((qd & 0x20) >> 5) << 31)
    return [za, zb, zc]


def dequant_3bit_32(q):  # qdq_3.cuh:69-136
    qa, qb, qc = q
    out = _h2(qa, 0x07) + _h2(qa, 0x38)
    qa = qa >> 6
    out += _h2(qa, 0x07) + _h2(qa, 0x38) + _h2(qa, 0x1C0)
    qa = (qa >> 9) & 0x00010001
    out += _h2(qb, 0x07) + _h2(qb, 0x38)
    qb = qb >> 6
    out += _h2(qb, 0x07) + _h2(qb, 0x38) + _h2(qb, 0x1C0)
    qb = (qb >> 8) & 0x00020002
    out += _h2(qc, 0x07) + _h2(qc, 0x38)
    qc = qc >> 6
    out += _h2(qc, 0x07) + _h2(qc, 0x38) + _h2(qc, 0x1C0)
    qc = (qc >> 7) & 0x00040004
    out += _h2(qa | qb | qc, 0x07)
    return [v - 4 for v in out]


def shuffle_4bit_8(q):  # qdq_4.cuh:13-32
    qa, qb = q[0], torch.zeros_like(q[0])
    for i in range(4):
        qa0, qa1 = qa & 0x0F, (qa & 0xF0) >> 4
        qa = qa >> 8
        qb = qb | (qa1 << (i * 4 + 16)) | (qa0 << (i * 4))
    return [qb]


def dequant_4bit_8(q):  # qdq_4.cuh:34-60
    qa = q[0]
    out = _h2(qa, 0x0F) + _h2(qa, 0xF0)
    qa = qa >> 8
    out += _h2(qa, 0x0F) + _h2(qa, 0xF0)
    return [v - 8 for v in out]


def shuffle_5bit_32(q):  # qdq_5.cuh:17-93
    qa, qb, qc, qd, qe = q
    qf = qe >> 22
    qe = ((qe << 8) & M32) | (qd >> 24)
    qd = ((qd << 6) & M32) | (qc >> 26)
    qc = ((qc << 4) & M32) | (qb >> 28)
    qb = ((qb << 2) & M32) | (qa >> 30)
    z = []
    for w in (qa, qb, qc, qd, qe):
        acc = torch.zeros_like(w)
        for i in range(3):
            t0, t1 = w & 0x1F, (w & 0x3E0) >> 5
            w = w >> 10
            acc = acc | (t0 << (i * 5)) | (t1 << (i * 5 + 16))
        z.append(acc)
    for i in range(5):
        z[i] = z[i] | (((qf >> i) & 1) << 15) | (((qf >> (i + 5)) & 1) << 31)
    return z


def dequant_5bit_32(q):  # qdq_5.cuh:95-168
    qa, qb, qc, qd, qe = q
    out = _h2(qa, 0x1F) + _h2(qa, 0x3E0)
    qa = qa >> 10
    out += _h2(qa, 0x1F)
    qa = (qa >> 5) & 0x00010001
    out += _h2(qb, 0x1F) + _h2(qb, 0x3E0)
    qb = qb >> 10
    out += _h2(qb, 0x1F)
    qb = (qb >> 4) & 0x00020002
    out += _h2(qc, 0x1F) + _h2(qc, 0x3E0)
    qc = qc >> 10
    out += _h2(qc, 0x1F)
    qc = (qc >> 3) & 0x00040004
    out += _h2(qd, 0x1F) + _h2(qd, 0x3E0)
    qd = qd >> 10
    out += _h2(qd, 0x1F)
    qd = (qd >> 2) & 0x00080008
    out += _h2(qe, 0x1F) + _h2(qe, 0x3E0)
    qe = qe >> 10
    out += _h2(qe, 0x1F)
    qe = (qe >> 1) & 0x00100010
    out += _h2(qa | qb | qc | qd | qe, 0x1F)
    return [v - 16 for v in out]


def shuffle_6bit_16(q):  # qdq_6.cuh:15-75
    qa, qb, qc = q
    f = [(qa >> s) & 0x3F for s in (0, 6, 12, 18, 24)]
    f.append(((qa >> 30) & 0x3) | ((qb & 0xF) << 2))
    f += [(qb >> s) & 0x3F for s in (4, 10, 16, 22)]
    f.append(((qb >> 28) & 0xF) | ((qc & 0x3) << 4))
    f += [(qc >> s) & 0x3F for s in (2, 8, 14, 20, 26)]
    qa = f[0] | (f[1] << 16) | (f[2] << 6) | (f[3] << 22)
    qb = f[4] | (f[5] << 16) | (f[6] << 6) | (f[7] << 22)
    qc = f[8] | (f[9] << 16) | (f[10] << 6) | (f[11] << 22)
    qa = qa | ((f[12] & 0b001111) << 12) | ((f[13] & 0b001111) << 28)
    qc = qc | ((f[12] & 0b110000) << 8) | ((f[13] & 0b110000) << 24)
    qb = qb | ((f[14] & 0b001111) << 12) | ((f[15] & 0b001111) << 28)
    qc = qc | ((f[14] & 0b110000) << 10) | ((f[15] & 0b110000) << 26)
    return [qa & M32, qb & M32, qc & M32]


def dequant_6bit_16(q):  # qdq_6.cuh:77-118
    qa, qb, qc = q
    out = _h2(qa, 0x3F)
    qa = qa >> 6
    out += _h2(qa, 0x3F)
    qa = qa >> 6
    out += _h2(qb, 0x3F)
    qb = qb >> 6
    out += _h2(qb, 0x3F)
    qb = qb >> 6
    out += _h2(qc, 0x3F)
    qc = qc >> 6
    out += _h2(qc, 0x3F)
    qc = qc >> 2
    out += _h2((qa & 0x000F000F) | (qc & 0x00300030), 0x3F)
    qc = qc >> 2
    out += _h2((qb & 0x000F000F) | (qc & 0x00300030), 0x3F)
    return [v - 32 for v in out]


def dequant_8bit_8(q):  # qdq_8.cuh:21-34 (QMODE_8BIT 0: plain byte extraction)
    return [((w >> (8 * i)) & 0xFF) - 128 for w in q for i in range(4)]


# bits -> (words a shuffle step takes, rows it covers, shuffle or None)  (q_matrix.cu:38-43)
SHUFFLE = {8: (1, 4, None), 6: (3, 16, shuffle_6bit_16), 5: (5, 32, shuffle_5bit_32), 4: (1, 8, shuffle_4bit_8),
           3: (3, 32, shuffle_3bit_32), 2: (1, 16, shuffle_2bit_16)}  # fmt: skip
# bits -> (words per dequant call, calls per step, dequant, rows a step covers)  (q_matrix.cu:399-496)
RECONSTRUCT = {8: (2, 4, dequant_8bit_8, 32), 6: (3, 2, dequant_6bit_16, 32), 5: (5, 1, dequant_5bit_32, 32),
               4: (1, 4, dequant_4bit_8, 32), 3: (3, 1, dequant_3bit_32, 32), 2: (1, 1, dequant_2bit_16, 16)}  # fmt: skip
ORDER = (8, 6, 5, 4, 3, 2)


def make_group_map(q_groups: list[int], num_qrows: int) -> list[tuple[int, int]]:
    """ext_qmatrix.cpp:341-361."""
    n = len(q_groups) // 2
    out = []
    for i in range(n):
        bits = q_groups[i * 2]
        qrows = q_groups[i * 2 + 3] - q_groups[i * 2 + 1] if i < n - 1 else num_qrows - q_groups[i * 2 + 1]
        rows = qrows * 32 // bits
        out += [(i, rows - j) for j in range(rows)]
    return out


def exllamav2_reconstruct(parts: dict[str, torch.Tensor], prescale: float = 1.0) -> torch.Tensor:
    """What exllamav2 0.3.2's reconstruct() returns for a layer's stored tensors: the fp16 weight
    [in_features, padded out_features] in the model's input-feature order (linear.py:486-494)."""
    words = parts["q_weight"].to(torch.int64) & M32  # [R, N] uint32
    codes = parts["q_scale"].to(torch.int64) & M32
    max_scale = parts["q_scale_max"] * (prescale / 256)  # ext.py:336, an fp16 tensor op
    perm = torch.argsort(parts["q_invperm"].to(torch.int64))  # module.py:120
    q_groups = [x & 0xFFFF for x in parts["q_groups"].to(torch.int64).tolist()]
    group_map = make_group_map(q_groups, words.shape[0])
    height = len(group_map)

    # rows of each width, then cumulated in kernel order (q_matrix.cu:130-159)
    rows_of, row, n = dict.fromkeys(ORDER, 0), 0, len(q_groups) // 2
    for i in range(n):
        bits = q_groups[i * 2]
        rows = (q_groups[i * 2 + 3] - q_groups[i * 2 + 1]) * 32 // bits if i < n - 1 else height - row
        rows_of[bits] += rows
        row += rows
    limit, total = {}, 0
    for bits in ORDER:
        total += rows_of[bits]
        limit[bits] = total

    # shuffle in place (q_matrix.cu:21-44)
    w = [words[r].clone() for r in range(words.shape[0])]
    k = ptr = 0
    for bits in ORDER:
        step_words, step_rows, shuffle = SHUFFLE[bits]
        while k < limit[bits]:
            if shuffle is not None:
                w[ptr : ptr + step_words] = shuffle(w[ptr : ptr + step_words])
            ptr, k = ptr + step_words, k + step_rows

    def dq_scale(group: int) -> torch.Tensor:  # qdq_util.cuh:24-30, MatrixView_q4_row::item
        code = (codes[group].repeat_interleave(8) >> (torch.arange(codes.shape[1] * 8) % 8 * 4)) & 0xF
        return ((code + 1) ** 2).to(torch.float16) * max_scale[group]

    # reconstruct_kernel (q_matrix.cu:328-497), one 128-row block (blockIdx.y) at a time
    out = torch.zeros(height, words.shape[1], dtype=torch.float16)
    for offset_k in range(0, height, 128):
        end_k = min(offset_k + 128, height)
        group = group_map[offset_k][0]
        qk, before = 0, 0
        for bits in ORDER:  # pre_rows_* (q_matrix.cu:373-385)
            pre = max(0, min(limit[bits], offset_k) - before) if offset_k > before else 0
            qk += pre // 32 * bits
            before = limit[bits]
        ptr = qk
        qs = dq_scale(group)
        nextgroup = offset_k + group_map[offset_k][1]
        k, lk = offset_k, 0
        for bits in ORDER:
            step_words, calls, dequant, step_rows = RECONSTRUCT[bits]
            while k < limit[bits] and k < end_k:
                if k == nextgroup:
                    group += 1
                    qs = dq_scale(group)
                    nextgroup += group_map[k][1]
                for _ in range(calls):
                    values = dequant(w[ptr : ptr + step_words])
                    ptr += step_words
                    for v in values:
                        out[perm[offset_k + lk]] = v.to(torch.float16) * qs  # __hmul2(dq, qs_h2)
                        lk += 1
                k += step_rows
    return out


# -- the tests --------------------------------------------------------------------------------

# GOLDEN_WORDS (test_exl2_format.py): one block of values v_i = i mod 2^b per width, as exllamav2's
# packer lays them out (pack_tensor.cu:117-248); each test below re-derives them from the port of that packer.


def _words(words: list[int]) -> torch.Tensor:
    return _int32(torch.tensor(words, dtype=torch.int64))


@pytest.mark.parametrize("bits", sorted(GOLDEN_WORDS))
def test_golden_words_are_exllamav2s_packing(bits):
    """exllamav2's packer (pack_tensor.cu) writes GOLDEN_WORDS, so do we; its fast path (shuffle +
    dequant, qdq_<bits>.cuh) and our unpacker read them back as the same values."""
    words = _words(GOLDEN_WORDS[bits])
    values = torch.arange(len(GOLDEN_WORDS[bits]) * 32 // bits) % (1 << bits)
    assert torch.equal(exl_pack_columns(values[:, None], bits)[:, 0], words)
    assert torch.equal(pack_bits(values[:, None], bits)[:, 0], words)
    assert torch.equal(unpack_bits(words[:, None], bits)[:, 0], values)
    step_words, _, shuffle = SHUFFLE[bits]
    n_words, calls, dequant, _ = RECONSTRUCT[bits]
    w = [x for x in words.to(torch.int64)[:, None] & M32]
    read = []
    for s in range(0, len(w), step_words):
        w[s : s + step_words] = shuffle(w[s : s + step_words]) if shuffle else w[s : s + step_words]
    for s in range(0, len(w), n_words):
        read += [int(v) + (1 << (bits - 1)) for v in dequant(w[s : s + n_words])]
    assert read == values.tolist()


@pytest.mark.parametrize("bits", sorted(GOLDEN_WORDS))
def test_random_columns_pack_like_exllamav2(bits):
    values = torch.randint(0, 1 << bits, (96, 40), generator=torch.Generator().manual_seed(bits))
    assert torch.equal(pack_bits(values, bits), exl_pack_columns(values, bits))


def test_scale_codes_pack_like_exllamav2():
    """The converter keeps qscale in 1..16 and pack_rows_4 stores qscale-1 (pack_tensor.cu:29-31)."""
    qscale = torch.randint(1, 17, (3, 64), generator=torch.Generator().manual_seed(1))
    assert torch.equal(torch.stack([_pack_nibbles(c - 1) for c in qscale]), exl_pack_rows_4(qscale))


LAYOUTS = {
    "every width": [(8, 32), (6, 64), (5, 32), (4, 128), (3, 64), (2, 32)],
    "4-bit 128-groups, short last": [(4, 128), (4, 128), (4, 64)],
    "head 6 of 576 rows": plan_groups(576, HEAD_PLANS[6][1], HEAD_PLANS[6][0]),
    "head 4 of 576 rows": plan_groups(576, HEAD_PLANS[4][1], HEAD_PLANS[4][0]),
    "2-bit 16-row steps": [(3, 32), (2, 96)],
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_dequantize_equals_exllamav2_reconstruct_bit_for_bit(layout):
    groups = LAYOUTS[layout]
    in_features, out_features = sum(r for _, r in groups), 72  # 72 columns are padded to 96
    gen = torch.Generator().manual_seed(len(groups))
    magnitudes = torch.logspace(-6, 0, in_features)[torch.randperm(in_features, generator=gen)]
    weight = torch.randn(out_features, in_features, generator=gen) * magnitudes  # scales reach fp16 subnormals
    tensors = quantize_linear(weight, None, groups)
    ours = dequantize(read_linear("probe", tensors, in_features, out_features), torch.float16)
    theirs = exllamav2_reconstruct(tensors)
    assert theirs.shape == (in_features, 96)
    assert torch.equal(ours.view(torch.int16), theirs[:, :out_features].t().contiguous().view(torch.int16))
    assert torch.equal(theirs[:, out_features:], torch.zeros(in_features, 96 - out_features, dtype=torch.float16))


def test_the_port_tells_perm_from_invperm():
    """The comparison above has teeth: storing perm where q_invperm belongs changes exllamav2's weight."""
    weight = torch.randn(32, 64, generator=torch.Generator().manual_seed(2))
    tensors = quantize_linear(weight, None, [(4, 64)])
    ours = dequantize(read_linear("probe", tensors, 64, 32), torch.float16)
    wrong = dict(tensors, q_invperm=torch.argsort(tensors["q_invperm"]).to(torch.int32))
    assert not torch.equal(exllamav2_reconstruct(wrong)[:, :32].t(), ours)
    assert torch.equal(exllamav2_reconstruct(tensors)[:, :32].t(), ours)
