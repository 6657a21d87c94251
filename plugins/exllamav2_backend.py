"""exllamav2 backend: EXL2 models on a CUDA GPU through exllamav2's ExLlamaV2DynamicGenerator.

exllamav2 compiles its CUDA extension when imported, fails without CUDA, and sets
torch's thread count for the whole process; so it is imported only in `create()`,
and only after `unavailable()` found a CUDA device. Loading this plugin (every CLI
start) imports neither torch nor exllamav2.

The generator is not thread-safe and its async wrapper runs `iterate()` on the
event loop, stalling it for a whole forward pass; here one thread owns the
generator and hands results to each request's asyncio queue instead, like the
native AsyncEngine.
"""

import importlib.util
import threading
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable

from toolsmith.core import hookimpl
from toolsmith.core.inference.backends import Backend
from toolsmith.core.inference.errors import EngineDeadError, ModelLoadError, RequestError, check_prompt_fits
from toolsmith.core.inference.outputs import CompletionOutput, EngineMetrics, RequestMetrics, RequestOutput
from toolsmith.core.inference.protocol import TemplatedChat
from toolsmith.core.inference.sampling import SamplingParams
from toolsmith.core.inference.thread_stream import ThreadStream
from toolsmith.core.inference.throughput import Throughput

IDLE_WAIT_S = 1.0
FINISH_REASONS = {"stop_token": "stop", "stop_string": "stop", "end_filter": "stop", "max_new_tokens": "length"}


def unavailable() -> str | None:
    if importlib.util.find_spec("torch") is None:
        return "PyTorch is not installed; install toolsmith with its default dependencies"
    import torch

    if not torch.cuda.is_available():
        return "no CUDA device (torch.cuda.is_available() is False)"
    if importlib.util.find_spec("exllamav2") is None:
        return "exllamav2 is not installed (pip install 'toolsmith[gpu]')"
    return None


def create(
    model: str, device: str = "auto", dtype: str = "auto", url: str = "", max_seq_len: int = 4096, tokenizer: str = "", **options
):
    """An ExLlamaV2Engine serving the EXL2 folder `model` on the CUDA GPU(s).

    `device`, `dtype` and `url` belong to other backends (exllamav2 computes in fp16);
    `max_seq_len` sizes the KV cache in tokens (a multiple of 256).
    """
    from toolsmith.core.engine import Tokenizer

    if tokenizer:
        raise ModelLoadError("[engine] tokenizer is for the remote backend; exllamav2 uses the model folder's own")
    if not model:
        raise ModelLoadError("no model folder configured; set [engine] model in the config (toolsmith config path)")
    reason = unavailable()
    if reason:
        raise ModelLoadError(f"the exllamav2 backend cannot run here: {reason}")
    generator, new_job = _load(model, max_seq_len, **options)
    return ExLlamaV2Engine(generator, new_job, Tokenizer.from_folder(model), max_seq_len)


def _load(folder: str, max_seq_len: int, max_batch_size: int | None = None):
    """The generator over model and cache, and a factory for its jobs (exllamav2 imported here only)."""
    import torch
    from exllamav2 import ExLlamaV2, ExLlamaV2Cache, ExLlamaV2Config, ExLlamaV2Tokenizer
    from exllamav2.attn import has_flash_attn, has_flash_attn_with_paged, has_xformers
    from exllamav2.generator import ExLlamaV2DynamicGenerator, ExLlamaV2DynamicJob, ExLlamaV2Sampler

    if max_seq_len % 256:
        raise ModelLoadError(f"max_seq_len must be a multiple of 256 for exllamav2, got {max_seq_len}")
    config = ExLlamaV2Config(folder)
    config.arch_compat_overrides(quiet=True)
    config.max_seq_len = max_seq_len
    # exllamav2 0.3.2's SDPA branch drops the causal mask for text (attn.py, `... or causal:` takes
    # the block-diagonal mask, None without images); its matmul attention is causal.
    config.no_sdpa = config.no_sdpa or not (has_flash_attn or has_xformers)
    model = ExLlamaV2(config)
    cache = ExLlamaV2Cache(model, max_seq_len=max_seq_len, lazy=True)
    model.load_autosplit(cache, progress=False)
    generator = ExLlamaV2DynamicGenerator(
        model=model,
        cache=cache,
        tokenizer=ExLlamaV2Tokenizer(config),
        max_batch_size=max_batch_size,
        paged=has_flash_attn_with_paged,  # without flash-attn: one sequence at a time
    )

    def new_job(ids: list[int], params: SamplingParams, stop_ids: list[int], identifier, seed) -> object:
        if params.greedy:
            settings = ExLlamaV2Sampler.Settings.greedy(token_repetition_penalty=params.repetition_penalty)
        else:
            settings = ExLlamaV2Sampler.Settings(
                temperature=params.temperature,
                top_k=params.top_k,
                top_p=params.top_p if params.top_p < 1 else 0.0,
                min_p=params.min_p,
                token_repetition_penalty=params.repetition_penalty,
            )
        settings.token_presence_penalty = params.presence_penalty
        settings.token_frequency_penalty = params.frequency_penalty
        return ExLlamaV2DynamicJob(
            input_ids=torch.tensor([ids], dtype=torch.long),
            max_new_tokens=params.max_tokens,
            min_new_tokens=params.min_tokens,
            gen_settings=settings,
            seed=seed,
            stop_conditions=[*stop_ids, *params.stop],
            identifier=identifier,
        )

    return generator, new_job


class _Completion:
    """One of a request's n completions: its job, tokens and text so far."""

    def __init__(self, index: int, detokenizer):
        self.index = index
        self.job = None
        self.token_ids: list[int] = []
        self.detokenizer = detokenizer
        self.delta = ""
        self.finish_reason: str | None = None
        self.first_token_time: float | None = None


class _Request:
    def __init__(self, request_id: str, prompt, ids: list[int], params: SamplingParams, completions, stream: ThreadStream):
        self.request_id = request_id
        self.params = params
        self.prompt = prompt if isinstance(prompt, str) else None
        self.ids = ids
        self.completions = completions
        self.stream = stream
        self.arrival_time = time.monotonic()
        self.finished_time: float | None = None

    @property
    def finished(self) -> bool:
        return all(c.finish_reason is not None for c in self.completions)


class ExLlamaV2Engine(TemplatedChat):
    """The `Engine` protocol over an ExLlamaV2DynamicGenerator, stepped on its own thread.

    `new_job(ids, params, stop_ids, identifier, seed)` builds one generator job; the
    generator needs `enqueue(job)`, `cancel(job)` and `iterate() -> [result dict]`.
    """

    constraints = frozenset()  # grammars are refused

    def __init__(self, generator, new_job: Callable, tokenizer, max_seq_len: int):
        self.generator = generator
        self.new_job = new_job
        self.tokenizer = tokenizer
        self.max_seq_len = max_seq_len
        self._requests: dict[str, _Request] = {}  # owned by the thread once admitted
        self._incoming: deque[_Request] = deque()
        self._aborts: deque[str] = deque()
        self._ids_in_use: set[str] = set()
        self._wake = threading.Event()
        self._stopping = False
        self._error: BaseException | None = None
        self._throughput = Throughput()
        self._thread = threading.Thread(target=self._run, name="toolsmith-exllamav2", daemon=True)
        self._thread.start()

    @property
    def max_model_len(self) -> int:
        """The context window: the KV cache's length (prompt plus generated tokens)."""
        return self.max_seq_len

    async def generate(
        self, prompt: str | list[int], params: SamplingParams, request_id: str | None = None
    ) -> AsyncIterator[RequestOutput]:
        """Stream cumulative outputs until the request finishes; bad input raises first."""
        from toolsmith.core.engine.detokenizer import IncrementalDetokenizer

        if self._error is not None or self._stopping:
            raise EngineDeadError(f"the engine is not running ({self._error or 'shut down'}); restart it")
        params.validate()
        if params.logprobs is not None:
            raise RequestError("the exllamav2 backend does not return logprobs; use the native backend for them")
        if params.constraint is not None or params.logit_bias:
            raise RequestError("the exllamav2 backend has no grammar-constrained decoding or logit_bias; use the native backend for them")
        request_id = request_id or uuid.uuid4().hex
        if request_id in self._ids_in_use:
            raise RequestError(f"request id {request_id!r} is already in use")
        ids = self.tokenizer.encode(prompt) if isinstance(prompt, str) else list(prompt)
        check_prompt_fits(ids, params.max_tokens, self.max_seq_len, "the cache")
        completions = [
            _Completion(i, IncrementalDetokenizer(self.tokenizer, params.stop, params.skip_special_tokens))
            for i in range(params.n)
        ]
        stream = ThreadStream()
        request = _Request(request_id, prompt, ids, params, completions, stream)
        self._ids_in_use.add(request_id)
        self._incoming.append(request)
        self._wake.set()
        try:
            async for item in stream.outputs():
                yield item
        finally:
            if not stream.finished:
                self.abort(request_id)

    def abort(self, request_id: str) -> None:
        self._aborts.append(request_id)
        self._wake.set()

    def metrics(self) -> EngineMetrics:
        running = sum(1 for r in list(self._requests.values()) if not r.finished)
        return EngineMetrics.without_kv_cache(self._throughput, num_waiting=len(self._incoming), num_running=running)

    def shutdown(self) -> None:
        self._stopping = True
        self._wake.set()
        self._thread.join()
        for request in list(self._requests.values()) + list(self._incoming):
            request.stream.put(EngineDeadError("the engine was shut down"))

    # -- the generator thread ---------------------------------------------------------

    def _run(self) -> None:
        while not self._stopping:
            try:
                self._admit()
                self._apply_aborts()
                if not self._requests:
                    self._wake.wait(IDLE_WAIT_S)
                    self._wake.clear()
                    continue
                for result in self.generator.iterate():
                    self._receive(result)
            except Exception as e:  # a bug or out-of-memory: fail every stream rather than hang
                self._error = e
                for request in list(self._requests.values()) + list(self._incoming):
                    request.stream.put(EngineDeadError(f"the engine stopped: {type(e).__name__}: {e}"))
                return

    def _admit(self) -> None:
        while self._incoming:
            request = self._incoming.popleft()
            params = request.params
            stop_ids = list(params.stop_token_ids) + ([] if params.ignore_eos else sorted(self.tokenizer.eos_token_ids))
            for c in request.completions:
                seed = None if params.seed is None else params.seed + c.index
                c.job = self.new_job(request.ids, params, stop_ids, (request.request_id, c.index), seed)
                self.generator.enqueue(c.job)
            self._requests[request.request_id] = request

    def _apply_aborts(self) -> None:
        while self._aborts:
            request = self._requests.get(self._aborts.popleft())
            if request is None:
                continue
            for c in request.completions:
                if c.finish_reason is None:
                    self.generator.cancel(c.job)
                    c.finish_reason = "abort"
            self._emit(request)

    def _receive(self, result: dict) -> None:
        if result.get("stage") != "streaming":
            return
        request_id, index = result["identifier"]
        request = self._requests.get(request_id)
        if request is None:
            return
        c = request.completions[index]
        if c.finish_reason is not None:
            return
        new = result["token_ids"][0].tolist() if "token_ids" in result else []
        for token in new:
            c.token_ids.append(token)
            c.delta += c.detokenizer.push(token)
        if new:
            now = time.monotonic()
            c.first_token_time = c.first_token_time or now
            self._throughput.add(len(new))
        if c.detokenizer.stopped and not result["eos"]:
            self.generator.cancel(c.job)
            c.finish_reason = "stop"
        elif result["eos"]:
            c.finish_reason = FINISH_REASONS.get(result.get("eos_reason"), "stop")
        if c.finish_reason is not None:
            c.delta += c.detokenizer.flush()
        self._emit(request)

    def _emit(self, request: _Request) -> None:
        finished = request.finished
        if finished:
            request.finished_time = time.monotonic()
        outputs = []
        for c in request.completions:
            outputs.append(
                CompletionOutput(
                    index=c.index,
                    token_ids=list(c.token_ids),
                    text=c.detokenizer.text,
                    delta_text=c.delta,
                    finish_reason=c.finish_reason,
                )
            )
            c.delta = ""
        firsts = [c.first_token_time for c in request.completions if c.first_token_time is not None]
        request.stream.put(
            RequestOutput(
                request_id=request.request_id,
                prompt=request.prompt,
                prompt_token_ids=request.ids,
                outputs=outputs,
                finished=finished,
                metrics=RequestMetrics(
                    arrival_time=request.arrival_time,
                    first_token_time=min(firsts) if firsts else None,
                    finished_time=request.finished_time,
                    num_cached_tokens=0,
                ),
            ),
        )
        if finished:
            del self._requests[request.request_id]
            self._ids_in_use.discard(request.request_id)



@hookimpl
def toolsmith_register_engines(register):
    register(
        Backend(
            name="exllamav2",
            description="exllamav2 on a CUDA GPU: EXL2 models, paged KV cache and continuous batching with flash-attn",
            create=create,
            unavailable=unavailable,
        )
    )
