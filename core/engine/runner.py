"""Turn a scheduled batch into flat tensors, run the decoder, return logits for sampling rows."""

from dataclasses import dataclass
from itertools import accumulate

import torch

from . import attention
from .attention import AttentionBatch, DecodeRows, PrefillChunk, causal_mask, decode_mask
from .host_memory import keep_freed_buffers
from .kv_manager import KVCacheManager
from .model import Decoder
from .request import Request


@dataclass
class FlatBatch:
    input_ids: torch.Tensor  # [T]
    positions: torch.Tensor  # [T]
    attention: AttentionBatch
    logits_rows: torch.Tensor  # the last token of each request that samples
    sampling: list[Request]


def kv_bytes_per_token(model: Decoder) -> int:
    cfg = model.config
    return 2 * cfg.num_layers * cfg.num_kv_heads * cfg.head_dim * model.dtype.itemsize


class ModelRunner:
    def __init__(self, model: Decoder, num_blocks: int, block_size: int):
        cfg = model.config
        self.model = model
        self.block_size = block_size
        self.device = model.device
        shape = (num_blocks, block_size, cfg.num_kv_heads, cfg.head_dim)
        self.kv_caches = [
            (torch.zeros(shape, dtype=model.dtype, device=self.device), torch.zeros(shape, dtype=model.dtype, device=self.device))
            for _ in range(cfg.num_layers)
        ]
        self.windows = {layer.window for layer in model.layers if layer.window}
        if self.device.type == "cpu":
            keep_freed_buffers()
        self.use_flash = (
            attention.flash_attn_varlen_func is not None
            and self.device.type == "cuda"
            and model.dtype in (torch.float16, torch.bfloat16)
            and block_size % 256 == 0
        )

    def run(self, items: list[tuple[Request, int]], kv: KVCacheManager) -> tuple[list[Request], torch.Tensor]:
        """Compute the scheduled tokens; return the requests that sample and their logits, row for row."""
        flat = self.prepare(items, kv)
        logits = self.model.forward(flat.input_ids, flat.positions, flat.attention, self.kv_caches, flat.logits_rows)
        return flat.sampling, logits

    def prepare(self, items: list[tuple[Request, int]], kv: KVCacheManager) -> FlatBatch:
        """Flatten the scheduled tokens, decode rows first (longest context first), and map each to its KV slot."""
        decode = sorted((item for item in items if item[1] == 1), key=lambda item: -item[0].num_computed_tokens)
        items = decode + [item for item in items if item[1] > 1]
        ids, positions, slots, rows, sampling, tables = [], [], [], [], [], []
        size = self.block_size
        for req, n in items:
            start = req.num_computed_tokens
            table = kv.block_ids(req)
            tables.append(table)
            ids.extend(req.token_ids[start : start + n])
            positions.extend(range(start, start + n))
            slots.extend(table[p // size] * size + p % size for p in range(start, start + n))
            if start + n == req.num_tokens:
                sampling.append(req)
                rows.append(len(ids) - 1)
        dev = self.device
        return FlatBatch(
            input_ids=torch.tensor(ids, device=dev),
            positions=torch.tensor(positions, device=dev),
            attention=self._attention_batch(items, tables, torch.tensor(slots, device=dev)),
            logits_rows=torch.tensor(rows, device=dev),
            sampling=sampling,
        )

    def _attention_batch(self, items, tables, slots: torch.Tensor) -> AttentionBatch:
        if self.use_flash:
            return AttentionBatch(slots, [], [], flash=self._flash_args(items, tables))
        dev = self.device
        num_decode = sum(1 for _, n in items if n == 1)
        ctx_lens = [req.num_computed_tokens + 1 for req, _ in items[:num_decode]]
        decode = [
            self._decode_rows(start, end, ctx_lens[start:end], tables[start:end])
            for start, end in decode_groups([-(-c // self.block_size) for c in ctx_lens])
        ]
        prefills, row = [], num_decode
        for (req, n), table in zip(items[num_decode:], tables[num_decode:]):
            ctx = req.num_computed_tokens + n
            table = table[: -(-ctx // self.block_size)]
            whole = n == ctx
            prefills.append(
                PrefillChunk(
                    start=row,
                    end=row + n,
                    block_table=torch.tensor(table, device=dev),
                    ctx_len=ctx,
                    mask=None if whole else causal_mask(n, ctx, None, dev),
                    window_mask=self._window(lambda w: causal_mask(n, ctx, w, dev)),
                )
            )
            row += n
        return AttentionBatch(slots, decode, prefills)

    def _decode_rows(self, start: int, end: int, ctx: list[int], tables: list[list[int]]) -> DecodeRows:
        dev = self.device
        width = -(-ctx[0] // self.block_size)  # the longest context comes first
        padded = [t + [0] * (width - len(t)) for t in tables]
        many = end - start > 1
        return DecodeRows(
            start=start,
            end=end,
            block_tables=torch.tensor(padded, device=dev),
            ctx_lens=ctx,
            mask=decode_mask(ctx, width * self.block_size, None, dev) if many else None,
            window_mask=self._window(lambda w: decode_mask(ctx, width * self.block_size, w, dev)) if many else None,
        )

    def _window(self, build):
        """The sliding-window mask, when some layer has a window (one window size per model)."""
        return build(next(iter(self.windows))) if self.windows else None

    def _flash_args(self, items, tables) -> dict:
        dev = self.device
        q_lens = [n for _, n in items]
        k_lens = [req.num_computed_tokens + n for req, n in items]
        width = max(len(t) for t in tables)
        cum = lambda xs: torch.tensor([0, *accumulate(xs)], dtype=torch.int32, device=dev)  # noqa: E731
        return {
            "cu_seqlens_q": cum(q_lens),
            "cu_seqlens_k": cum(k_lens),
            "max_seqlen_q": max(q_lens),
            "max_seqlen_k": max(k_lens),
            "block_table": torch.tensor([t + [0] * (width - len(t)) for t in tables], dtype=torch.int32, device=dev),
        }


def decode_groups(widths: list[int]) -> list[tuple[int, int]]:
    """Split decode rows, widest context first, into [start, end) runs padded to one width.

    Padding every row to the longest context makes attention gather and mask the
    padding too. A new run starts where a row needs at most half of its run's width,
    so no row is padded to more than twice its context and there are at most
    log2(longest / shortest) + 1 runs (each one more SDPA call per layer).
    """
    groups, start = [], 0
    for i, width in enumerate(widths):
        if 2 * width <= widths[start]:
            groups.append((start, i))
            start = i
    return groups + [(start, len(widths))] if widths else []
