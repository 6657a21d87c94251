"""The building blocks every model family shares: norms, activations, rotary tables, attention variants.

A family module (`models/<family>.py`) picks among these; the decoder loop in
`model.py` calls them. Each follows the arithmetic of its Hugging Face reference,
because logits are checked against transformers.
"""

import math

import torch
import torch.nn.functional as F

from .attention import AttentionBatch, decode_mask, flash_attn_varlen_func, gather_blocks, paged_attention

ACTIVATIONS = {
    "silu": F.silu,
    "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
    "gelu": F.gelu,
}


def rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    """One fused op; it accumulates in float32 like HF (bf16 output may differ from HF's by one rounding)."""
    return F.rms_norm(x, weight.shape, weight, eps)


# -- rotary position embeddings ---------------------------------------------------------


class Rope:
    """Rotary tables of one kind; `cos_sin(positions)` gives per-token tables for `apply_rope`.

    `longrope` depends on the sequence length in transformers (the longest position of the
    forward pass); here on each token's own position, which is what transformers computes
    for every token generated one at a time (a prompt longer than the original context,
    prefilled at once, differs for its tokens before that length). `dynamic` NTK only
    changes rope beyond `max_position_embeddings`, which is also the engine's context
    limit, so within it it is plain rope.
    """

    def __init__(self, theta: float, scaling: dict, rotary_dim: int, max_position_embeddings: int):
        self.kind = scaling.get("rope_type", "default")
        self.original = int(scaling.get("original_max_position_embeddings") or max_position_embeddings)
        exponents = torch.arange(0, rotary_dim, 2, dtype=torch.int64).float() / rotary_dim
        base = 1.0 / (theta**exponents)
        self.attention_factor = 1.0
        self.long_inv_freq = None
        if self.kind == "linear":
            base = base / float(scaling["factor"])
        elif self.kind == "llama3":
            base = _llama3_inv_freq(base, scaling)
        elif self.kind == "yarn":
            base, self.attention_factor = _yarn(theta, rotary_dim, scaling, max_position_embeddings)
        elif self.kind == "longrope":
            factor = scaling.get("factor") or max_position_embeddings / self.original
            original = float(self.original)
            self.attention_factor = scaling.get("attention_factor") or (
                1.0 if factor <= 1.0 else math.sqrt(1 + math.log(factor) / math.log(original))
            )
            self.long_inv_freq = 1.0 / (torch.tensor(scaling["long_factor"], dtype=torch.float32) * theta**exponents)
            base = 1.0 / (torch.tensor(scaling["short_factor"], dtype=torch.float32) * theta**exponents)
        self.inv_freq = base

    def to(self, device) -> "Rope":
        self.inv_freq = self.inv_freq.to(device)
        if self.long_inv_freq is not None:
            self.long_inv_freq = self.long_inv_freq.to(device)
        return self

    def cos_sin(self, positions: torch.Tensor, dtype) -> tuple[torch.Tensor, torch.Tensor]:
        """cos and a sign-folded sin, [T, 1, rotary_dim], so rope is x*cos + roll(x)*sin."""
        pos = positions.float()[:, None]
        if self.kind == "longrope":
            long = (positions + 1 > self.original)[:, None]
            freqs = pos * torch.where(long, self.long_inv_freq[None], self.inv_freq[None])
        else:
            freqs = pos * self.inv_freq[None, :]
        cos, sin = freqs.cos() * self.attention_factor, freqs.sin() * self.attention_factor
        cos = torch.cat((cos, cos), dim=-1)
        sin = torch.cat((-sin, sin), dim=-1)
        return cos.to(dtype)[:, None, :], sin.to(dtype)[:, None, :]


def _llama3_inv_freq(inv_freq: torch.Tensor, s: dict) -> torch.Tensor:
    """Llama 3.1 scaling: long wavelengths slowed by `factor`, short ones kept, a smooth blend between."""
    factor, low, high = float(s["factor"]), float(s["low_freq_factor"]), float(s["high_freq_factor"])
    old_len = float(s["original_max_position_embeddings"])
    wavelen = 2 * math.pi / inv_freq
    scaled = torch.where(wavelen > old_len / low, inv_freq / factor, inv_freq)
    smooth = (old_len / wavelen - low) / (high - low)
    blended = (1 - smooth) * scaled / factor + smooth * scaled
    medium = (wavelen >= old_len / high) & (wavelen <= old_len / low)
    return torch.where(medium, blended, scaled)


def _yarn(theta: float, dim: int, s: dict, max_position_embeddings: int) -> tuple[torch.Tensor, float]:
    """YaRN: interpolate low frequencies, keep high ones, ramp between; cos/sin scaled by `mscale`."""
    original = float(s.get("original_max_position_embeddings") or max_position_embeddings)
    factor = float(s.get("factor") or max_position_embeddings / original)

    def mscale(scale, m=1.0):
        return 1.0 if scale <= 1 else 0.1 * m * math.log(scale) + 1.0

    attention = s.get("attention_factor")
    if attention is None:
        m, m_all = s.get("mscale"), s.get("mscale_all_dim")
        attention = mscale(factor, m) / mscale(factor, m_all) if m and m_all else mscale(factor)
    fast, slow = s.get("beta_fast") or 32, s.get("beta_slow") or 1

    def correction_dim(rotations):
        return (dim * math.log(original / (rotations * 2 * math.pi))) / (2 * math.log(theta))

    low, high = correction_dim(fast), correction_dim(slow)
    if s.get("truncate", True):
        low, high = math.floor(low), math.ceil(high)
    low, high = max(low, 0), min(high, dim - 1)
    if low == high:
        high += 0.001
    ramp = ((torch.arange(dim // 2, dtype=torch.float32) - low) / (high - low)).clamp(0, 1)
    pos_freqs = theta ** (torch.arange(0, dim, 2).float() / dim)
    extrapolation = 1 - ramp
    inv_freq = (1.0 / (factor * pos_freqs)) * (1 - extrapolation) + (1.0 / pos_freqs) * extrapolation
    return inv_freq, float(attention)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """NeoX-style rotate-half rope over the first cos.shape[-1] dims (all of them unless partial)."""
    rotary = cos.shape[-1]
    if rotary == x.shape[-1]:
        return torch.addcmul(x * cos, x.roll(rotary // 2, dims=-1), sin)
    head, rest = x[..., :rotary], x[..., rotary:]
    return torch.cat((torch.addcmul(head * cos, head.roll(rotary // 2, dims=-1), sin), rest), dim=-1)


# -- attention ----------------------------------------------------------------------------


def attend(q, k, v, k_cache, v_cache, batch: AttentionBatch, window: int | None, softcap: float | None):
    """Paged attention; with a soft cap on the scores (Gemma 2) it is computed explicitly (SDPA has no cap)."""
    if softcap is None:
        return paged_attention(q, k, v, k_cache, v_cache, batch, window)
    if batch.flash is not None:
        out = flash_attn_varlen_func(
            q, k_cache, v_cache, causal=True, window_size=(window - 1, 0) if window else (-1, -1),
            softcap=softcap, **batch.flash,
        )
        return out.reshape(q.shape[0], -1)
    heads, dim = q.shape[1], q.shape[2]
    kv_heads = k_cache.shape[2]
    parts = []
    for rows in batch.decode:
        b = rows.end - rows.start
        keys = gather_blocks(k_cache, rows.block_tables).view(b, -1, kv_heads, dim).transpose(1, 2)
        values = gather_blocks(v_cache, rows.block_tables).view(b, -1, kv_heads, dim).transpose(1, 2)
        mask = rows.window_mask if window else rows.mask
        if mask is None:
            mask = decode_mask(rows.ctx_lens, keys.shape[2], window, q.device)
        out = _capped(q[rows.start : rows.end].view(b, kv_heads, heads // kv_heads, dim), keys, values, mask, softcap)
        parts.append(out.reshape(b, heads * dim))
    for chunk in batch.prefills:
        n = chunk.end - chunk.start
        keys = gather_blocks(k_cache, chunk.block_table).view(-1, kv_heads, dim)[: chunk.ctx_len]
        values = gather_blocks(v_cache, chunk.block_table).view(-1, kv_heads, dim)[: chunk.ctx_len]
        mask = chunk.window_mask if window else chunk.mask
        if mask is None:
            mask = torch.ones(n, chunk.ctx_len, dtype=torch.bool, device=q.device).tril_()
        queries = q[chunk.start : chunk.end].view(n, kv_heads, heads // kv_heads, dim).permute(1, 2, 0, 3)
        out = _capped(queries, keys.permute(1, 0, 2)[:, None], values.permute(1, 0, 2)[:, None], mask, softcap)
        parts.append(out.permute(2, 0, 1, 3).reshape(n, heads * dim))
    return parts[0] if len(parts) == 1 else torch.cat(parts)


def _capped(q, k, v, mask, softcap: float):
    """softmax(cap·tanh(q·kᵀ/√d/cap)) v, softmax in float32, as transformers' eager Gemma 2 attention."""
    scores = (q @ k.transpose(-1, -2)) * q.shape[-1] ** -0.5
    scores = torch.tanh(scores / softcap) * softcap
    scores = scores.masked_fill(~mask, float("-inf"))
    return scores.softmax(-1, dtype=torch.float32).to(q.dtype) @ v


# -- one decoder layer's weights ------------------------------------------------------------


class Layer:
    """The weights of one decoder layer, as the shared forward loop in `model.py` uses them."""

    __slots__ = (
        "qkv", "o", "gate_up", "down", "input_norm", "post_norm", "pre_mlp_norm", "post_mlp_norm",
        "q_norm", "k_norm", "window", "rope",
    )

    def __init__(self, *, qkv, o, gate_up, down, input_norm, post_norm, window, rope="global",
                 pre_mlp_norm=None, post_mlp_norm=None, q_norm=None, k_norm=None):
        self.qkv, self.o, self.gate_up, self.down = qkv, o, gate_up, down
        self.input_norm, self.post_norm = input_norm, post_norm  # post_norm: before the MLP, or after attention (sandwich)
        self.pre_mlp_norm, self.post_mlp_norm = pre_mlp_norm, post_mlp_norm
        self.q_norm, self.k_norm = q_norm, k_norm
        self.window = window
        self.rope = rope  # which rope table ("global"/"local"), "" for none
