"""The decoder loop every family shares; what differs per family lives in `models/<family>.py`.

Plain tensors and functional ops, not nn.Modules: decoding a small model on a CPU
is dominated by per-op overhead, so q/k/v and gate/up are fused into one matmul
each, rope runs once over q and k together, and only the rows that sample go
through the final norm and the vocabulary projection. A family's features (q/k
norms, sandwich norms, soft-capping, per-layer rope) cost nothing where unused.
"""

from collections.abc import Iterable

import torch

from ..inference.errors import ModelLoadError
from .attention import AttentionBatch, write_kv
from .host_memory import release_pages, trim_heap
from .layers import ACTIVATIONS, Rope, apply_rope, attend, rms_norm
from .linear import Linear
from .model_config import ModelConfig
from .models import expected_shapes, family_named


class _LayerTensors:
    """What a family's `build_layer` takes its tensors from: one layer's, by name under `model.layers.N.`."""

    def __init__(self, decoder: "Decoder", named: dict, prefix: str):
        self._decoder, self._named, self._prefix = decoder, named, prefix

    def __call__(self, name: str) -> torch.Tensor:
        return self._decoder._take(self._named, self._prefix + name)

    def cat(self, *names: str) -> torch.Tensor:
        return torch.cat([self(n) for n in names])

    def opt(self, *names: str) -> torch.Tensor | None:
        return self.cat(*names) if self._prefix + names[0] in self._named else None

    def norm(self, name: str) -> torch.Tensor:
        return self._decoder._norm(self._named.pop(self._prefix + name))


class Decoder:
    def __init__(self, config: ModelConfig, tensors: Iterable[tuple[str, torch.Tensor]], dtype, device):
        self.config = config
        self.dtype = dtype
        self.device = torch.device(device)
        family = family_named(config.family)
        named = _collect(config, tensors)
        self._read: list[torch.Tensor] = []  # the loader's tensors, whose file pages go back once copied
        # On CPU the embedding stays as stored, a view of the mapped file: only the rows looked up are read in.
        embed = named.pop("model.embed_tokens.weight")
        self.embed = embed if self.device.type == "cpu" else embed.to(device=self.device, dtype=dtype)
        self.layers = []
        for i in range(config.num_layers):
            self.layers.append(family.build_layer(config, i, _LayerTensors(self, named, f"model.layers.{i}.")))
            self._release()
        self.norm = self._norm(named.pop("model.norm.weight"))
        # A stored head wins over a tied embedding: EXL2 quantizes the head even for tied models.
        head = self._take(named, "lm_head.weight") if "lm_head.weight" in named else self.embed.to(device=self.device, dtype=dtype)
        self.lm_head = Linear(head)
        self._read.append(self.embed)  # a tied head read it whole
        self._release()
        if self.device.type == "cpu":
            trim_heap()
        self.ropes = rope_tables(config, self.device)
        self.act = ACTIVATIONS[config.hidden_act]
        self.embed_scale = torch.tensor(config.embed_scale, dtype=dtype) if config.embed_scale != 1.0 else None
        default_scale = config.head_dim**-0.5
        self.q_scale = None if config.query_scale in (None, default_scale) else config.query_scale / default_scale
        self.q_size = config.num_heads * config.head_dim
        self.kv_size = config.num_kv_heads * config.head_dim

    def _take(self, named: dict, name: str) -> torch.Tensor:
        tensor = named.pop(name)
        self._read.append(tensor)
        return tensor.to(device=self.device, dtype=self.dtype)

    def _release(self) -> None:
        release_pages(t for t in self._read if isinstance(t, torch.Tensor))
        self._read.clear()

    def _norm(self, weight: torch.Tensor) -> torch.Tensor:
        """Gemma stores norm weights as w and applies 1 + w (in float32, as transformers does)."""
        self._read.append(weight)
        if self.config.norm_plus_one:
            weight = weight.float() + 1.0
        return weight.to(device=self.device, dtype=self.dtype)

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
        heads, d = cfg.num_heads, cfg.head_dim
        x = torch.nn.functional.embedding(input_ids, self.embed).to(self.dtype)
        if self.embed_scale is not None:
            x = x * self.embed_scale
        tables = {name: rope.cos_sin(positions, self.dtype) for name, rope in self.ropes.items()}
        for layer, (k_cache, v_cache) in zip(self.layers, kv_caches):
            h = rms_norm(x, layer.input_norm, eps)
            qkv = layer.qkv(h)
            qk = qkv[:, : self.q_size + self.kv_size].view(-1, heads + cfg.num_kv_heads, d)
            if layer.q_norm is not None:
                qk = torch.cat((rms_norm(qk[:, :heads], layer.q_norm, eps), rms_norm(qk[:, heads:], layer.k_norm, eps)), 1)
            if layer.rope:
                qk = apply_rope(qk, *tables[layer.rope])
            q, k = qk[:, :heads], qk[:, heads:]
            if self.q_scale is not None:
                q = q * self.q_scale
            v = qkv[:, self.q_size + self.kv_size :].view(-1, cfg.num_kv_heads, d)
            write_kv(k_cache, v_cache, k, v, batch.slot_mapping)
            attn = layer.o(attend(q, k, v, k_cache, v_cache, batch, layer.window, cfg.attn_softcap))
            if layer.pre_mlp_norm is None:
                x = x + attn
                h = rms_norm(x, layer.post_norm, eps)
            else:  # sandwich: norms after attention and MLP, another before the MLP
                x = x + rms_norm(attn, layer.post_norm, eps)
                h = rms_norm(x, layer.pre_mlp_norm, eps)
            gate, up = layer.gate_up(h).chunk(2, dim=-1)
            mlp = layer.down(self.act(gate) * up)
            x = x + (mlp if layer.post_mlp_norm is None else rms_norm(mlp, layer.post_mlp_norm, eps))
        if logits_rows.numel() == 0:
            return x.new_empty((0, cfg.vocab_size), dtype=torch.float32)
        x = rms_norm(x[logits_rows], self.norm, eps)
        logits = self.lm_head(x).float()
        if cfg.final_softcap is not None:
            logits = torch.tanh(logits / cfg.final_softcap) * cfg.final_softcap
        return logits


def rope_tables(cfg: ModelConfig, device) -> dict[str, Rope]:
    """The rope kinds the layers use: "global" (config.json's rope) and Gemma 3's "local"."""
    rotary = cfg.rotary_dim or cfg.head_dim
    ropes = {}
    if "global" in cfg.rope_layers:
        ropes["global"] = Rope(cfg.rope_theta, cfg.rope_scaling, rotary, cfg.max_position_embeddings).to(device)
    if "local" in cfg.rope_layers:
        ropes["local"] = Rope(cfg.local_rope_theta, {}, rotary, cfg.max_position_embeddings).to(device)
    return ropes


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
