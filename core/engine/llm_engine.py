"""The engine loop: admit requests, step the model, sample, detokenize, finish.

`LLMEngine` is synchronous and single-threaded in its state: `add_request` and
`abort_request` only validate and enqueue (so another thread may call them),
and every change to scheduler and cache state happens inside `step()`.
"""

import itertools
import time
from collections import deque
from pathlib import Path

import msgspec
import torch

from ..inference.errors import ModelLoadError, RequestError, check_prompt_fits
from ..inference.outputs import CompletionOutput, EngineMetrics, RequestMetrics, RequestOutput, TokenLogprob
from ..inference.sampling import SamplingParams
from ..inference.throughput import Throughput
from .detokenizer import IncrementalDetokenizer
from .gguf import GGUFFile
from .grammar import GrammarCompiler
from .kv_manager import KVCacheManager
from .model import Decoder
from .model_config import ModelConfig, load_model_config
from .request import Request
from .runner import ModelRunner, kv_bytes_per_token
from .sampler import SequenceSampler, sample
from .scheduler import Scheduler
from .tokenizer import Tokenizer
from .weights import exl2_mode, model_tensors

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
DEFAULT_KV_CACHE_BYTES = 1 << 30


class Group:
    """A prompt's n completions; outputs are reported per group."""

    def __init__(self, request_id: str, prompt: str | None, children: list[Request]):
        self.request_id = request_id
        self.prompt = prompt
        self.children = children
        self.deltas = [""] * len(children)

    @property
    def finished(self) -> bool:
        return all(child.finished for child in self.children)


class LLMEngine:
    def __init__(
        self,
        model_dir: str | Path,
        *,
        dtype: str = "auto",
        device: str = "cpu",
        block_size: int = 16,
        kv_cache_tokens: int | None = None,
        kv_cache_bytes: int | None = None,
        max_num_seqs: int = 8,
        max_num_batched_tokens: int = 512,
        max_model_len: int | None = None,
        enable_prefix_caching: bool = True,
        exl2_weights: str = "auto",
    ):
        folder = Path(model_dir)
        gguf_file = GGUFFile(folder) if folder.is_file() and folder.suffix == ".gguf" else None
        if gguf_file is None and not folder.is_dir():
            raise ModelLoadError(f"model folder {folder} does not exist")
        if block_size < 1 or max_num_seqs < 1 or max_num_batched_tokens < 1:
            raise ModelLoadError("block_size, max_num_seqs and max_num_batched_tokens must be positive")
        self.config: ModelConfig = gguf_file.config if gguf_file else load_model_config(folder)
        self.tokenizer = gguf_file.tokenizer() if gguf_file else Tokenizer.from_folder(folder)
        if self.tokenizer.vocab_size > self.config.vocab_size:
            raise ModelLoadError(
                f"{folder}: tokenizer has {self.tokenizer.vocab_size} tokens but the model only "
                f"{self.config.vocab_size}; tokenizer.json belongs to another model"
            )
        self.device = torch.device(device)
        compute_dtype = _dtype(dtype, self.config)
        self.exl2_weights = exl2_mode(exl2_weights, self.device, compute_dtype)
        tensors = (
            gguf_file.iter_tensors(compute_dtype)
            if gguf_file
            else model_tensors(folder, self.config, compute_dtype, self.exl2_weights)
        )
        self.model = Decoder(self.config, tensors, compute_dtype, self.device)
        self.max_model_len = min(max_model_len or self.config.max_position_embeddings, self.config.max_position_embeddings)
        num_blocks = self._num_blocks(block_size, kv_cache_tokens, kv_cache_bytes, max_num_seqs)
        self.kv = KVCacheManager(num_blocks, block_size, enable_prefix_caching)
        self.scheduler = Scheduler(self.kv, max_num_batched_tokens, max_num_seqs)
        self.runner = ModelRunner(self.model, num_blocks, block_size)
        self.groups: dict[str, Group] = {}
        self._ids_in_use: set[str] = set()  # also checked from callers' threads, hence not `groups`
        self._incoming: deque[Group] = deque()
        self._aborts: deque[str] = deque()
        self._ids = itertools.count()
        self.throughput = Throughput()
        self.grammars = GrammarCompiler(self.tokenizer.to_json(), self.config.vocab_size, self.tokenizer.eos_token_ids)

    def _num_blocks(self, block_size, tokens, nbytes, max_num_seqs) -> int:
        per_token = kv_bytes_per_token(self.model)
        if tokens is None:
            budget = nbytes if nbytes is not None else DEFAULT_KV_CACHE_BYTES
            tokens = budget // per_token
            if nbytes is None:
                tokens = min(tokens, self.max_model_len * max_num_seqs)
        blocks = int(tokens) // block_size
        if blocks < 1:
            raise ModelLoadError(f"the KV cache must hold at least one block of {block_size} tokens ({per_token} bytes each)")
        return blocks

    # -- requests -------------------------------------------------------

    def add_request(self, prompt: str | list[int], params: SamplingParams, request_id: str | None = None) -> str:
        """Validate and enqueue; raises RequestError/SamplingError without touching running work."""
        params.validate()
        request_id = request_id if request_id is not None else f"req-{next(self._ids)}"
        if request_id in self._ids_in_use:
            raise RequestError(f"request id {request_id!r} is already in use")
        text = prompt if isinstance(prompt, str) else None
        ids = self.tokenizer.encode(prompt) if isinstance(prompt, str) else self._check_ids(prompt)
        check_prompt_fits(ids, params.max_tokens, self.max_model_len, "the model's context")
        needed = self.kv.blocks_needed(len(ids) + params.max_tokens)
        if needed > self.kv.pool.num_blocks:
            raise RequestError(
                f"the request needs {needed} KV blocks but the cache has {self.kv.pool.num_blocks}; "
                "raise kv_cache_tokens or lower max_tokens"
            )
        self._check_bias(params.logit_bias)
        grammar = self.grammars.matcher(params.constraint) if params.constraint is not None else None
        children = [self._request(f"{request_id}#{i}", ids, params, i, grammar) for i in range(params.n)]
        children[0].followers = children[1:]
        self._ids_in_use.add(request_id)
        self._incoming.append(Group(request_id, text, children))
        return request_id

    def _check_ids(self, ids: list[int]) -> list[int]:
        vocab = self.config.vocab_size
        for token in ids:
            if isinstance(token, bool) or not isinstance(token, int) or not 0 <= token < vocab:
                raise RequestError(f"token id {token!r} is out of range: the model has ids 0..{vocab - 1}")
        return list(ids)

    def _check_bias(self, bias: dict[int, float]) -> None:
        vocab = self.config.vocab_size
        for token in bias:
            if token >= vocab:
                raise RequestError(f"logit_bias names token id {token}, but the model has ids 0..{vocab - 1}")

    def _request(self, rid: str, ids: list[int], params: SamplingParams, index: int, grammar) -> Request:
        if params.n > 1 and params.seed is not None:
            params = _with_seed(params, params.seed + index)  # siblings must not draw the same noise
        grammar = grammar.copy() if grammar is not None and index else grammar  # each completion its own state
        sampler = SequenceSampler(params, ids, self.tokenizer.eos_token_ids, grammar)
        detok = IncrementalDetokenizer(self.tokenizer, params.stop, params.skip_special_tokens)
        return Request(rid, ids, params, sampler, detok, index)

    def abort_request(self, request_id: str) -> None:
        """Abort at the next step boundary, whatever state the request is in; unknown ids are ignored."""
        self._aborts.append(request_id)

    def has_unfinished(self) -> bool:
        return bool(self._incoming or self._aborts or self.groups)

    # -- the loop --------------------------------------------------------

    def step(self) -> list[RequestOutput]:
        """Run one scheduling step; return outputs for every request that changed."""
        changed: dict[str, Group] = {}
        self._take_incoming()
        self._apply_aborts(changed)
        batch = self.scheduler.schedule()
        if batch.items:
            sampling, logits = self.runner.run(batch.items, self.kv)
            for req, n in batch.items:
                req.num_computed_tokens += n
                self.kv.cache_computed_blocks(req)
                if req.followers and req.num_computed_tokens >= req.num_prompt_tokens:
                    for follower in reversed(req.followers):
                        self.scheduler.add(follower, first=True)
                    req.followers = []
            results = sample(logits, [req.sampler for req in sampling]) if sampling else []
            now = time.monotonic()
            for req, result in zip(sampling, results):
                self._append(req, result, now)
                changed[self._group_id(req)] = self.groups[self._group_id(req)]
            self.throughput.add(len(sampling), batch.num_tokens - len(sampling))
        outputs = [self._output(group) for group in changed.values()]
        for group in changed.values():
            if group.finished:
                del self.groups[group.request_id]
                self._ids_in_use.discard(group.request_id)
        return outputs

    def _take_incoming(self) -> None:
        while self._incoming:
            group = self._incoming.popleft()
            self.groups[group.request_id] = group
            self.scheduler.add(group.children[0])

    def _apply_aborts(self, changed: dict) -> None:
        while self._aborts:
            group = self.groups.get(self._aborts.popleft())
            if group is None or group.finished:
                continue
            for child in group.children:
                if not child.finished:
                    self._finish(child, "abort")
            changed[group.request_id] = group

    def _append(self, req: Request, result, now: float) -> None:
        token = result.token_id
        req.append_token(token)
        if req.first_token_time is None:
            req.first_token_time = now
        if req.logprobs is not None:
            req.logprobs.append(TokenLogprob(token, result.logprob, result.top_logprobs or []))
        group = self.groups[self._group_id(req)]
        group.deltas[req.index] += req.detokenizer.push(token)
        reason = self._finish_reason(req, token)
        if reason is not None:
            self._finish(req, reason)

    def _finish_reason(self, req: Request, token: int) -> str | None:
        params = req.params
        if req.detokenizer.stopped or token in params.stop_token_ids:
            return "stop"
        if req.sampler.grammar is not None and req.sampler.grammar.done:
            return "stop"
        if not params.ignore_eos and token in self.tokenizer.eos_token_ids and len(req.output_token_ids) >= params.min_tokens:
            return "stop"
        if len(req.output_token_ids) >= params.max_tokens or req.num_tokens >= self.max_model_len:
            return "length"
        return None

    def _finish(self, req: Request, reason: str) -> None:
        group = self.groups[self._group_id(req)]
        group.deltas[req.index] += req.detokenizer.flush()
        req.finish_reason = reason
        req.finished_time = time.monotonic()
        self.scheduler.finish(req)
        for follower in req.followers:  # never admitted: the leader ended before its prompt was cached
            if not follower.finished:
                self.scheduler.add(follower, first=True)
        req.followers = []

    @staticmethod
    def _group_id(req: Request) -> str:
        return req.request_id.rpartition("#")[0]

    def _output(self, group: Group) -> RequestOutput:
        completions = []
        for i, child in enumerate(group.children):
            completions.append(
                CompletionOutput(
                    index=child.index,
                    token_ids=list(child.output_token_ids),
                    text=child.detokenizer.text,
                    delta_text=group.deltas[i],
                    finish_reason=child.finish_reason,
                    logprobs=list(child.logprobs) if child.logprobs is not None else None,
                )
            )
            group.deltas[i] = ""
        lead = group.children[0]
        firsts = [c.first_token_time for c in group.children if c.first_token_time is not None]
        ends = [c.finished_time for c in group.children if c.finished_time is not None]
        return RequestOutput(
            request_id=group.request_id,
            prompt=group.prompt,
            prompt_token_ids=lead.prompt_token_ids,
            outputs=completions,
            finished=group.finished,
            metrics=RequestMetrics(
                arrival_time=lead.arrival_time,
                first_token_time=min(firsts) if firsts else None,
                finished_time=max(ends) if group.finished and ends else None,
                num_cached_tokens=lead.num_cached_tokens,
            ),
        )

    # -- metrics ----------------------------------------------------------

    def metrics(self) -> EngineMetrics:
        generated, prompt = self.throughput.rates()
        pool = self.kv.pool
        allocated, used = self.kv_slot_usage()
        return EngineMetrics(
            generation_tokens_per_s=generated,
            prompt_tokens_per_s=prompt,
            num_waiting=len(self.scheduler.waiting) + len(self._incoming),
            num_running=len(self.scheduler.running),
            kv_blocks_total=pool.num_blocks,
            kv_blocks_used=pool.num_blocks - pool.num_free,
            kv_blocks_free=pool.num_free,
            kv_blocks_cached=pool.num_cached,
            kv_waste=(allocated - used) / allocated if allocated else 0.0,
            prefix_cache_hit_rate=self.kv.hit_tokens / self.kv.queried_tokens if self.kv.queried_tokens else 0.0,
            num_preemptions=self.scheduler.num_preemptions,
            total_generated_tokens=self.throughput.total_generated,
        )

    def kv_slot_usage(self) -> tuple[int, int]:
        """Allocated KV slots and the ones holding a token (a shared block counts once)."""
        filled: dict[int, int] = {}
        size = self.kv.block_size
        for req in list(self.scheduler.running):  # may be called from another thread mid-step
            for i, block in enumerate(list(self.kv.req_blocks.get(req.request_id, []))):
                filled[block.block_id] = max(filled.get(block.block_id, 0), min(size, max(0, req.num_computed_tokens - i * size)))
        return len(filled) * size, sum(filled.values())


def _dtype(name: str, config: ModelConfig) -> torch.dtype:
    if name == "auto":
        return DTYPES.get(config.torch_dtype, torch.float32)
    if name not in DTYPES:
        raise ModelLoadError(f"dtype {name!r} is not supported (choose auto, {', '.join(DTYPES)})")
    return DTYPES[name]


def _with_seed(params: SamplingParams, seed: int) -> SamplingParams:
    return msgspec.structs.replace(params, seed=seed)
