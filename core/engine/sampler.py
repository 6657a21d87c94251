"""Batched token sampling whose result for a request never depends on the rest of the batch.

Each sequence owns a ``SequenceSampler`` with its own ``torch.Generator``; sampling is an
exponential race (``argmax(logits - log(E))`` with ``E = -log(U) ~ Exp(1)`` and ``U``
uniform from that generator), so a seeded request draws exactly the same noise alone or
in any batch.
Everything that needs no generator (penalties, temperature, top-k/top-p/min-p masks,
greedy argmax, logprobs) is computed for all rows of the batch at once.

Order: the min_tokens mask, the repetition penalty (prompt + output tokens) and the
presence/frequency penalties (output tokens only, as OpenAI defines them), as vLLM does;
then ``logit_bias`` and, for rows with a grammar, its token mask (``grammar.py``: rows with
and without a grammar share the batch); then, for sampled rows, temperature, top-k, top-p and min-p (Hugging Face's order), and
the draw.  Logprobs come from the raw logits, before any of that, as in vLLM.
"""

from __future__ import annotations

import secrets
from typing import NamedTuple

import torch

from toolsmith.core.inference.sampling import SamplingParams

_CANDIDATES = 1024  # how many of the most likely tokens top-k/top-p look at before sorting a whole row


class SampleResult(NamedTuple):
    token_id: int
    logprob: float | None  # the chosen token's logprob under the raw logits; None unless requested
    top_logprobs: list[tuple[int, float]] | None  # (token id, logprob), most likely first


class SequenceSampler:
    """Sampling state of one sequence: its generator and the tokens penalties look at.

    ``sample`` does not record the token it picks: call ``append`` with the token the
    sequence actually keeps.
    """

    def __init__(self, params: SamplingParams, prompt_ids: list[int], eos_token_ids: set[int], grammar=None):
        self.params = params
        self.grammar = grammar  # a grammar.GrammarState, when the output is constrained
        self.prompt_ids = list(prompt_ids)
        self.output_ids: list[int] = []
        self.seed = params.seed if params.seed is not None else secrets.randbits(63)
        stops = set(params.stop_token_ids) | (set() if params.ignore_eos else set(eos_token_ids))
        self._min_tokens_banned = sorted(stops)  # masked until min_tokens tokens are generated
        self._generator: torch.Generator | None = None
        self._counts: torch.Tensor | None = None  # [vocab] output-token counts, built on first use
        self._seen: torch.Tensor | None = None  # [vocab] bool: token occurs in prompt or output

    def append(self, token_id: int) -> None:
        self.output_ids.append(token_id)
        if self.grammar is not None:
            self.grammar.consume(token_id)
        if self._counts is not None:
            self._counts[token_id] += 1
            self._seen[token_id] = True

    def generator(self, device: torch.device) -> torch.Generator:
        if self._generator is None:
            self._generator = torch.Generator(device=device)
            self._generator.manual_seed(self.seed)
        return self._generator

    def banned_ids(self, vocab_size: int) -> list[int]:
        """Token ids that may not be sampled yet (EOS and stop ids before min_tokens)."""
        if len(self.output_ids) >= self.params.min_tokens:
            return []
        return [t for t in self._min_tokens_banned if t < vocab_size]

    def penalty_state(self, vocab_size: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """Dense output counts and seen-mask, kept up to date by ``append`` once built."""
        if self._counts is None:
            outputs = torch.tensor(self.output_ids, dtype=torch.long, device=device)
            self._counts = torch.bincount(outputs, minlength=vocab_size).to(torch.float32)
            self._seen = self._counts > 0
            self._seen[torch.tensor(self.prompt_ids, dtype=torch.long, device=device)] = True
        return self._counts, self._seen


def sample(logits: torch.Tensor, samplers: list[SequenceSampler]) -> list[SampleResult]:
    """Pick one token per row of ``logits`` ([N, vocab], any float dtype); row i belongs to samplers[i]."""
    if logits.dim() != 2 or logits.shape[0] != len(samplers):
        raise ValueError(f"logits must be [{len(samplers)}, vocab], got {list(logits.shape)}")
    x = penalized_logits(logits, samplers)
    tokens = torch.empty(len(samplers), dtype=torch.long, device=x.device)
    greedy = [i for i, s in enumerate(samplers) if s.params.greedy]
    drawn = [i for i, s in enumerate(samplers) if not s.params.greedy]
    if greedy:
        tokens[greedy] = _rows(x, greedy).argmax(dim=-1)
    if drawn:
        tokens[drawn] = _draw(_rows(x, drawn), [samplers[i] for i in drawn])
    return _results(logits, tokens, samplers)


def _rows(x: torch.Tensor, rows: list[int]) -> torch.Tensor:
    """x[rows]; x itself when that is every row (x is already a private copy: no second one)."""
    return x if len(rows) == x.shape[0] else x[rows]


def penalized_logits(logits: torch.Tensor, samplers: list[SequenceSampler]) -> torch.Tensor:
    """A float32 copy of ``logits`` with min_tokens bans and penalties applied: what greedy rows argmax."""
    x = logits.to(torch.float32, copy=True)
    _mask_banned(x, samplers)
    _apply_penalties(x, samplers)
    _apply_logit_bias(x, samplers)
    _apply_grammars(x, samplers)
    return x


def _mask_banned(x: torch.Tensor, samplers: list[SequenceSampler]) -> None:
    rows, cols = [], []
    for i, s in enumerate(samplers):
        banned = s.banned_ids(x.shape[1])
        rows += [i] * len(banned)
        cols += banned
    if rows:
        x[rows, cols] = float("-inf")


def _apply_penalties(x: torch.Tensor, samplers: list[SequenceSampler]) -> None:
    """Repetition penalty (divide positive, multiply negative logits) then OpenAI presence/frequency."""
    rows = [i for i, s in enumerate(samplers) if s.params.uses_penalties]
    if not rows:
        return
    states = [samplers[i].penalty_state(x.shape[1], x.device) for i in rows]
    counts = torch.stack([c for c, _ in states])
    seen = torch.stack([s for _, s in states])
    params = [samplers[i].params for i in rows]
    repetition = _column([p.repetition_penalty for p in params], x.device)
    frequency = _column([p.frequency_penalty for p in params], x.device)
    presence = _column([p.presence_penalty for p in params], x.device)
    sub = x[rows]
    sub = torch.where(seen, torch.where(sub > 0, sub / repetition, sub * repetition), sub)
    sub -= frequency * counts + presence * (counts > 0)
    x[rows] = sub


def _apply_logit_bias(x: torch.Tensor, samplers: list[SequenceSampler]) -> None:
    rows, cols, values = [], [], []
    for i, s in enumerate(samplers):
        for token, bias in s.params.logit_bias.items():
            if token < x.shape[1]:
                rows.append(i)
                cols.append(token)
                values.append(bias)
    if rows:
        x[rows, cols] += torch.tensor(values, dtype=x.dtype, device=x.device)


def _apply_grammars(x: torch.Tensor, samplers: list[SequenceSampler]) -> None:
    """-inf for every token a row's grammar does not allow next; one mask computation for all such rows."""
    rows = [i for i, s in enumerate(samplers) if s.grammar is not None]
    if not rows:
        return
    from toolsmith.core.engine.grammar import allowed_tokens

    allowed = allowed_tokens([samplers[i].grammar for i in rows], x.shape[1])
    if len(rows) < x.shape[0]:  # free rows allow everything; one in-place fill for the whole batch
        every = torch.ones(x.shape, dtype=torch.bool)
        every[rows] = allowed
        allowed = every
    x.masked_fill_(~allowed.to(x.device), float("-inf"))


def _draw(x: torch.Tensor, samplers: list[SequenceSampler]) -> torch.Tensor:
    """Temperature, top-k, top-p, min-p, then an exponential race with each row's own generator."""
    params = [s.params for s in samplers]
    x /= _column([p.temperature for p in params], x.device)
    vocab = x.shape[1]
    top_k = torch.tensor([p.top_k if 0 < p.top_k < vocab else vocab for p in params], device=x.device)
    top_p = torch.tensor([p.top_p for p in params], dtype=torch.float32, device=x.device)
    if any(p.top_p < 1.0 or 0 < p.top_k < vocab for p in params):
        _top_k_top_p(x, top_k, top_p)
    if any(p.min_p > 0.0 for p in params):
        _min_p(x, _column([p.min_p for p in params], x.device))
    # Only the uniform draw is per row (a few times cheaper than exponential_); the logs are batched.
    # U < 1, so E > 0 and a masked -inf logit stays -inf: argmax never sees NaN.
    uniform = torch.stack([torch.rand(vocab, generator=s.generator(x.device), device=x.device) for s in samplers])
    return (x - uniform.log().neg_().log_()).argmax(dim=-1)


def _top_k_top_p(x: torch.Tensor, k: torch.Tensor, p: torch.Tensor) -> None:
    """Mask tokens outside each row's top-k and then its top-p nucleus.

    The nucleus nearly always ends among the few hundred most likely tokens, so rows are
    decided from a cheap ``topk`` of ``_CANDIDATES`` values; only rows whose nucleus or k
    reaches past those fall back to a full sort.  The result is a per-row logit threshold,
    which treats tokens with equal logits alike whatever order a sort puts them in.
    """
    width = min(x.shape[1], _CANDIDATES)
    threshold, decided = _thresholds(x.topk(width, dim=-1).values, x, k, p)
    if not decided.all():
        rows = (~decided).nonzero().squeeze(1)
        ordered = x[rows].sort(dim=-1, descending=True).values
        threshold[rows] = _thresholds(ordered, x[rows], k[rows], p[rows])[0]
    x.masked_fill_(x < threshold, float("-inf"))


def _thresholds(values: torch.Tensor, x: torch.Tensor, k: torch.Tensor, p: torch.Tensor):
    """Each row's smallest kept logit, from its most likely logits ``values`` (descending), and
    whether ``values`` reached far enough to decide it.  ``k == vocab`` means no top-k."""
    width, vocab = values.shape[1], x.shape[1]
    k, p = k.unsqueeze(1), p.unsqueeze(1)
    kth = values.gather(1, k.clamp(max=width) - 1)
    kth = torch.where(k <= width, kth, float("-inf"))
    kept = values.masked_fill(values < kth, float("-inf"))
    # Probabilities after top-k: the top-k set lies within ``values`` when k <= width.
    total = torch.where(k <= width, kept.logsumexp(dim=-1, keepdim=True), x.logsumexp(dim=-1, keepdim=True))
    probs = (kept - total).exp()
    mass = probs.cumsum(dim=-1)
    in_nucleus = (mass - probs) < p  # the mass of more likely tokens is still short of p
    last = (in_nucleus.sum(dim=-1, keepdim=True) - 1).clamp(min=0)  # 0 only if a row is all -inf
    threshold = torch.where(p < 1.0, values.gather(1, last).clamp(min=kth), kth)
    decided = (k <= width) | ((k == vocab) & ((p >= 1.0) | (mass[:, -1:] >= p)))
    return threshold, decided.squeeze(1)


def _min_p(x: torch.Tensor, min_p: torch.Tensor) -> None:
    """Drop tokens less likely than min_p times the most likely token's probability."""
    probs = x.softmax(dim=-1)
    x.masked_fill_(probs < min_p * probs.amax(dim=-1, keepdim=True), float("-inf"))


def _results(logits: torch.Tensor, tokens: torch.Tensor, samplers: list[SequenceSampler]) -> list[SampleResult]:
    token_ids = tokens.tolist()
    results = [SampleResult(t, None, None) for t in token_ids]
    rows = [i for i, s in enumerate(samplers) if s.params.logprobs is not None]
    if not rows:
        return results
    logprobs = logits[rows].to(torch.float32).log_softmax(dim=-1)
    chosen = logprobs.gather(1, tokens[rows].unsqueeze(1)).squeeze(1).tolist()
    widest = min(max(samplers[i].params.logprobs for i in rows), logprobs.shape[1])
    top_values, top_ids = (t.tolist() for t in logprobs.topk(widest, dim=-1))
    for j, i in enumerate(rows):
        k = samplers[i].params.logprobs
        top = list(zip(top_ids[j][:k], top_values[j][:k]))
        results[i] = SampleResult(token_ids[i], chosen[j], top)
    return results


def _column(values: list[float], device: torch.device) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float32, device=device).unsqueeze(1)
