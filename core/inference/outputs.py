"""What the engine hands back: per-request outputs and engine-wide metrics."""

import msgspec


class TokenLogprob(msgspec.Struct, frozen=True):
    token_id: int
    logprob: float
    top: list[tuple[int, float]] = []  # (token id, logprob), most likely first


class CompletionOutput(msgspec.Struct, kw_only=True):
    """One of the `n` completions of a prompt, cumulative so far."""

    index: int
    token_ids: list[int]
    text: str
    delta_text: str  # text added since the previous output of this request
    finish_reason: str | None  # "stop" | "length" | "abort", None while running
    logprobs: list[TokenLogprob] | None = None


class RequestMetrics(msgspec.Struct, kw_only=True):
    arrival_time: float  # time.monotonic() clock
    first_token_time: float | None
    finished_time: float | None
    num_cached_tokens: int  # prompt tokens served from the prefix cache

    @property
    def time_to_first_token(self) -> float | None:
        return None if self.first_token_time is None else self.first_token_time - self.arrival_time


class RequestOutput(msgspec.Struct, kw_only=True):
    request_id: str
    prompt: str | None
    prompt_token_ids: list[int]
    outputs: list[CompletionOutput]
    finished: bool
    metrics: RequestMetrics

    # The first completion's fields, for the common n == 1 case.
    @property
    def token_ids(self) -> list[int]:
        return self.outputs[0].token_ids

    @property
    def text(self) -> str:
        return self.outputs[0].text

    @property
    def finish_reason(self) -> str | None:
        return self.outputs[0].finish_reason

    @property
    def logprobs(self) -> list[TokenLogprob] | None:
        return self.outputs[0].logprobs


class EngineMetrics(msgspec.Struct, kw_only=True):
    generation_tokens_per_s: float  # over the last few seconds of stepping
    prompt_tokens_per_s: float
    num_waiting: int  # queue depth
    num_running: int
    kv_blocks_total: int
    kv_blocks_used: int
    kv_blocks_free: int  # includes cached blocks, which are reused on demand
    kv_blocks_cached: int
    kv_waste: float  # allocated-but-empty KV slots / allocated slots
    prefix_cache_hit_rate: float  # prompt tokens found in the cache / prompt tokens looked up
    num_preemptions: int
    total_generated_tokens: int

    @classmethod
    def without_kv_cache(cls, throughput, *, num_waiting: int, num_running: int) -> "EngineMetrics":
        """Metrics of a backend whose KV cache Toolsmith cannot see (exllamav2, a remote server)."""
        generated, prompt = throughput.rates()
        return cls(
            generation_tokens_per_s=generated,
            prompt_tokens_per_s=prompt,
            num_waiting=num_waiting,
            num_running=num_running,
            kv_blocks_total=0,
            kv_blocks_used=0,
            kv_blocks_free=0,
            kv_blocks_cached=0,
            kv_waste=0.0,
            prefix_cache_hit_rate=0.0,
            num_preemptions=0,
            total_generated_tokens=throughput.total_generated,
        )
