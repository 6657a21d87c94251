"""Paged attention equals plain attention over each sequence's own context."""

import math

import pytest
import torch
from fixtures import DEVICE

from toolsmith.core.engine.attention import AttentionBatch, DecodeRows, PrefillChunk, causal_mask, decode_mask, paged_attention

HEADS, KV_HEADS, DIM, BLOCK = 6, 2, 8, 4


def reference(q, k, v, window):
    """One sequence, one query row per head, in float64: [heads, dim] over [ctx, kv_heads, dim]."""
    q, k, v = q.double(), k.double(), v.double()
    if window:
        k, v = k[-window:], v[-window:]
    group = HEADS // KV_HEADS
    k, v = k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)  # [ctx, heads, dim]
    scores = torch.einsum("hd,chd->hc", q, k) / math.sqrt(DIM)
    return torch.einsum("hc,chd->hd", scores.softmax(-1), v).reshape(-1)


@pytest.mark.parametrize("dtype, tolerance", [(torch.float32, 1e-5), (torch.bfloat16, 3e-2)])
@pytest.mark.parametrize("contexts", [[13], [9, 3, 30, 17, 5, 22]])
@pytest.mark.parametrize("window", [None, 7])
def test_decode_rows_attend_to_their_own_blocks(dtype, tolerance, contexts, window):
    gen = torch.Generator().manual_seed(len(contexts))
    num_blocks = sum(-(-c // BLOCK) for c in contexts) + 3
    k_cache = torch.randn(num_blocks, BLOCK, KV_HEADS, DIM, generator=gen).to(dtype)
    v_cache = torch.randn(num_blocks, BLOCK, KV_HEADS, DIM, generator=gen).to(dtype)
    free = torch.randperm(num_blocks, generator=gen).tolist()  # blocks scattered through the pool
    tables = [[free.pop() for _ in range(-(-c // BLOCK))] for c in contexts]
    order = sorted(range(len(contexts)), key=lambda i: -contexts[i])  # the runner's order: longest first
    contexts, tables = [contexts[i] for i in order], [tables[i] for i in order]
    width = len(tables[0])
    padded = torch.tensor([t + [0] * (width - len(t)) for t in tables])
    many = len(contexts) > 1
    rows = DecodeRows(
        start=0,
        end=len(contexts),
        block_tables=padded,
        ctx_lens=contexts,
        mask=decode_mask(contexts, width * BLOCK, None, "cpu") if many else None,
        window_mask=decode_mask(contexts, width * BLOCK, window, "cpu") if many and window else None,
    )
    q = torch.randn(len(contexts), HEADS, DIM, generator=gen).to(dtype)
    batch = AttentionBatch(slot_mapping=torch.zeros(0, dtype=torch.long), decode=[rows], prefills=[])
    got = paged_attention(q.to(DEVICE), None, None, k_cache.to(DEVICE), v_cache.to(DEVICE), batch, window).cpu()
    for i, (ctx, table) in enumerate(zip(contexts, tables)):
        k = k_cache[table].reshape(-1, KV_HEADS, DIM)[:ctx]
        v = v_cache[table].reshape(-1, KV_HEADS, DIM)[:ctx]
        torch.testing.assert_close(got[i].double(), reference(q[i], k, v, window), atol=tolerance, rtol=tolerance)


@pytest.mark.parametrize("dtype, tolerance", [(torch.float32, 1e-5), (torch.bfloat16, 3e-2)])
@pytest.mark.parametrize("cached, new", [(0, 11), (13, 6)])
@pytest.mark.parametrize("window", [None, 7])
def test_a_prefill_chunk_attends_causally_to_cache_and_itself(dtype, tolerance, cached, new, window):
    gen = torch.Generator().manual_seed(cached + new)
    ctx = cached + new
    blocks = -(-ctx // BLOCK)
    k_cache = torch.randn(blocks + 2, BLOCK, KV_HEADS, DIM, generator=gen).to(dtype)
    v_cache = torch.randn(blocks + 2, BLOCK, KV_HEADS, DIM, generator=gen).to(dtype)
    table = torch.randperm(blocks + 2, generator=gen)[:blocks]
    k_all = k_cache[table].reshape(-1, KV_HEADS, DIM)[:ctx]
    v_all = v_cache[table].reshape(-1, KV_HEADS, DIM)[:ctx]
    whole = cached == 0
    chunk = PrefillChunk(
        start=0,
        end=new,
        block_table=table,
        ctx_len=ctx,
        mask=None if whole else causal_mask(new, ctx, None, "cpu"),
        window_mask=causal_mask(new, ctx, window, "cpu") if window else None,
    )
    q = torch.randn(new, HEADS, DIM, generator=gen).to(dtype)
    batch = AttentionBatch(slot_mapping=torch.zeros(0, dtype=torch.long), decode=[], prefills=[chunk])
    k_new, v_new = k_all[cached:], v_all[cached:]  # this step's K/V, also written to the cache
    args = (q, k_new, v_new, k_cache, v_cache)
    got = paged_attention(*(t.to(DEVICE) for t in args), batch, window).cpu()
    for i in range(new):
        upto = cached + i + 1
        want = reference(q[i], k_all[:upto], v_all[:upto], window)
        torch.testing.assert_close(got[i].double(), want, atol=tolerance, rtol=tolerance)
