"""One generation request as the scheduler and the engine see it."""

import enum
import time


class Status(enum.Enum):
    WAITING = "waiting"
    RUNNING = "running"
    FINISHED = "finished"


class Request:
    """Tokens so far, how many of them have K/V in the cache, and per-request sampling state.

    There are no prefill/decode phases: each step the scheduler hands out tokens so
    that `num_computed_tokens` catches up with `num_tokens`; the request samples
    when it has caught up.
    """

    def __init__(self, request_id: str, prompt_token_ids: list[int], params, sampler, detokenizer, index: int = 0):
        self.request_id = request_id
        self.prompt_token_ids = prompt_token_ids
        self.params = params
        self.sampler = sampler
        self.detokenizer = detokenizer
        self.index = index  # which of the n completions of its prompt this is
        self.token_ids = list(prompt_token_ids)
        self.output_token_ids: list[int] = []
        self.logprobs: list | None = [] if params.logprobs is not None else None
        self.num_computed_tokens = 0
        self.block_hashes: list[bytes] = []
        self.status = Status.WAITING
        self.finish_reason: str | None = None
        self.num_cached_tokens = 0  # prompt tokens served from the prefix cache at first admission
        self.num_preemptions = 0
        self.arrival_time = time.monotonic()
        self.first_scheduled_time: float | None = None
        self.first_token_time: float | None = None
        self.finished_time: float | None = None
        self.followers: list["Request"] = []  # n > 1 siblings, admitted once this prompt is cached

    @property
    def num_tokens(self) -> int:
        return len(self.token_ids)

    @property
    def num_prompt_tokens(self) -> int:
        return len(self.prompt_token_ids)

    @property
    def finished(self) -> bool:
        return self.status is Status.FINISHED

    def append_token(self, token_id: int) -> None:
        self.token_ids.append(token_id)
        self.output_token_ids.append(token_id)
        self.sampler.append(token_id)
