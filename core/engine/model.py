"""The decoder shared by the Llama, Mistral and Qwen2 families.

Plain tensors and functional ops, not nn.Modules: decoding a small model on a CPU
is dominated by per-op overhead, so q/k/v and gate/up are fused into one matmul
each, rope runs once over q and k together, and only the rows that sample go
through the final norm and the vocabulary projection.
"""

import math
from collections.abc import Iterable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..inference.errors import ModelLoadError
from .attention import AttentionBatch, paged_attention, write_kv
from .host_memory import release_pages, trim_heap
from .linear import Linear
from .model_config import ModelConfig


@dataclass
class Layer:
    qkv: Linear
    o: Linear
    gate_up: Linear
    down: Linear
    input_norm: torch.Tensor
    post_norm: torch.Tensor
    window: int | None


class Decoder:
    def __init__(self, config: ModelConfig, tensors: Iterable[tuple[str, torch.Tensor]], dtype, device):
        self.config = config
        self.dtype = dtype
        self.device = torch.device(device)
        named = _collect(config, tensors)
        read: list[torch.Tensor] = []  # the loader's tensors, whose file pages go back once copied

        def take(name):
            tensor = named.pop(name)
            read.append(tensor)
            return tensor.to(device=self.device, dtype=dtype)

        # On CPU the embedding stays as stored, a view of the mapped file: only the rows looked up are read in.
        embed = named.pop("model.embed_tokens.weight")
        self.embed = embed if self.device.type == "cpu" else embed.to(device=self.device, dtype=dtype)
        self.layers = []
        for i in range(config.num_layers):
            self.layers.append(self._layer(i, take, named))
            release_pages(t for t in read if isinstance(t, torch.Tensor))
            read.clear()
        self.norm = take("model.norm.weight")
        # A stored head wins over a tied embedding: EXL2 quantizes the head even for tied models.
        self.lm_head = Linear(take("lm_head.weight") if "lm_head.weight" in named else self.embed.to(device=self.device, dtype=dtype))
        release_pages([*(t for t in read if isinstance(t, torch.Tensor)), self.embed])  # a tied head read it whole
        if self.device.type == "cpu":
            trim_heap()
        self.inv_freq = rope_inv_freq(config).to(self.device)
        self.q_size = config.num_heads * config.head_dim
        self.kv_size = config.num_kv_heads * config.head_dim

    def _layer(self, i: int, take, named: dict) -> Layer:
        p = f"model.layers.{i}."
        cat = lambda *names: torch.cat([take(p + n) for n in names])  # noqa: E731
        opt = lambda *names: cat(*names) if p + names[0] in named else None  # noqa: E731
        cfg = self.config
        return Layer(
            qkv=Linear(
                cat("self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight"),
                opt("self_attn.q_proj.bias", "self_attn.k_proj.bias", "self_attn.v_proj.bias"),
            ),
            o=Linear(take(p + "self_attn.o_proj.weight"), opt("self_attn.o_proj.bias")),
            gate_up=Linear(cat("mlp.gate_proj.weight", "mlp.up_proj.weight"), opt("mlp.gate_proj.bias", "mlp.up_proj.bias")),
            down=Linear(take(p + "mlp.down_proj.weight"), opt("mlp.down_proj.bias")),
            input_norm=take(p + "input_layernorm.weight"),
            post_norm=take(p + "post_attention_layernorm.weight"),
            window=cfg.sliding_window if cfg.sliding_layers[i] else None,
        )

    @torch.inference_mode()
    def forward(
        self,
        input_ids: torch.Tensor,
        positions: torch.Tensor,
        batch: AttentionBatch,
        kv_caches: list[tuple[torch.Tensor, torch.Tensor]],
        logits_rows: torch.Tensor,
    ) -> torch.Tensor:
        """Run T flat tokens through the model; return float32 logits [len(logits_rows), vocab]."""
        cfg = self.config
        eps = cfg.rms_norm_eps
        heads = cfg.num_heads + cfg.num_kv_heads
        x = F.embedding(input_ids, self.embed).to(self.dtype)
        cos, sin = rope_cos_sin(self.inv_freq, positions, cfg, self.dtype)
        for layer, (k_cache, v_cache) in zip(self.layers, kv_caches):
            h = rms_norm(x, layer.input_norm, eps)
            qkv = layer.qkv(h)
            qk = apply_rope(qkv[:, : self.q_size + self.kv_size].view(-1, heads, cfg.head_dim), cos, sin)
            q, k = qk[:, : cfg.num_heads], qk[:, cfg.num_heads :]
            v = qkv[:, self.q_size + self.kv_size :].view(-1, cfg.num_kv_heads, cfg.head_dim)
            write_kv(k_cache, v_cache, k, v, batch.slot_mapping)
            attn = paged_attention(q, k, v, k_cache, v_cache, batch, layer.window)
            x = x + layer.o(attn)
            h = rms_norm(x, layer.post_norm, eps)
            gate, up = layer.gate_up(h).chunk(2, dim=-1)
            x = x + layer.down(F.silu(gate) * up)
        if logits_rows.numel() == 0:
            return x.new_empty((0, cfg.vocab_size), dtype=torch.float32)
        x = rms_norm(x[logits_rows], self.norm, eps)
        return self.lm_head(x).float()


def rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    """One fused op; it accumulates in float32 like HF (bf16 output may differ from HF's by one rounding)."""
    return F.rms_norm(x, weight.shape, weight, eps)


def rope_inv_freq(cfg: ModelConfig) -> torch.Tensor:
    dim = cfg.head_dim
    inv_freq = 1.0 / (cfg.rope_theta ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    scaling = cfg.rope_scaling
    if cfg.rope_type == "linear":
        return inv_freq / float(scaling["factor"])
    if cfg.rope_type == "llama3":
        return _llama3_inv_freq(inv_freq, scaling)
    return inv_freq


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


def rope_cos_sin(inv_freq, positions, cfg: ModelConfig, dtype):
    """cos and a sign-folded sin, [T, 1, head_dim], so rope is x*cos + roll(x)*sin."""
    freqs = positions.float()[:, None] * inv_freq[None, :]
    cos, sin = freqs.cos(), freqs.sin()
    cos = torch.cat((cos, cos), dim=-1)
    sin = torch.cat((-sin, sin), dim=-1)
    return cos.to(dtype)[:, None, :], sin.to(dtype)[:, None, :]


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """NeoX-style rotate-half rope; roll by half swaps the halves, `sin` carries the sign."""
    return torch.addcmul(x * cos, x.roll(x.shape[-1] // 2, dims=-1), sin)


def _collect(cfg: ModelConfig, tensors: Iterable[tuple[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """All tensors by name, after checking every expected one is there with the right shape."""
    expected = expected_shapes(cfg)
    named = {}
    for name, tensor in tensors:
        if name.endswith("rotary_emb.inv_freq"):
            continue
        if name not in expected:
            raise ModelLoadError(f"unexpected tensor {name!r} for {cfg.architecture}; is config.json for these weights?")
        if tuple(tensor.shape) != expected[name]:
            raise ModelLoadError(
                f"tensor {name!r} has shape {tuple(tensor.shape)}, config.json implies {expected[name]}; "
                "the weights do not match the config"
            )
        named[name] = tensor
    optional_head = cfg.tie_word_embeddings
    missing = [n for n in expected if n not in named and not (optional_head and n == "lm_head.weight")]
    if missing:
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        raise ModelLoadError(f"weights are missing {', '.join(missing[:3])}{more}")
    return named


def expected_shapes(cfg: ModelConfig) -> dict[str, tuple[int, ...]]:
    hidden, inter, d = cfg.hidden_size, cfg.intermediate_size, cfg.head_dim
    q, kv = cfg.num_heads * d, cfg.num_kv_heads * d
    shapes = {"model.embed_tokens.weight": (cfg.vocab_size, hidden), "model.norm.weight": (hidden,)}
    shapes["lm_head.weight"] = (cfg.vocab_size, hidden)  # optional when tied
    for i in range(cfg.num_layers):
        p = f"model.layers.{i}."
        linears = {"self_attn.q_proj": (q, hidden), "self_attn.k_proj": (kv, hidden), "self_attn.v_proj": (kv, hidden)}
        linears |= {"self_attn.o_proj": (hidden, q), "mlp.gate_proj": (inter, hidden), "mlp.up_proj": (inter, hidden)}
        linears |= {"mlp.down_proj": (hidden, inter)}
        for name, shape in linears.items():
            shapes[p + name + ".weight"] = shape
        biased = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"} if cfg.qkv_bias else set()
        biased |= {"self_attn.o_proj"} if cfg.o_bias else set()
        biased |= {"mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"} if cfg.mlp_bias else set()
        for name in biased:
            shapes[p + name + ".bias"] = (linears[name][0],)
        shapes[p + "input_layernorm.weight"] = (hidden,)
        shapes[p + "post_attention_layernorm.weight"] = (hidden,)
    return shapes
