"""Continuous batching: which requests run this step, and how many tokens each.

Each step has a token budget. Running requests go first, in admission order: a
decode token each, or the next chunk of a long prompt. When the pool is out of
blocks, the newest running request is preempted (its blocks freed, its progress
recomputed later; the prefix cache usually makes that cheap). Waiting requests
are admitted first-come first-served while the budget, the sequence cap and the
pool allow, and only in a step that preempted nobody.
"""

import time
from collections import deque
from dataclasses import dataclass, field

from .kv_manager import KVCacheManager
from .request import Request, Status


@dataclass
class ScheduledBatch:
    items: list[tuple[Request, int]] = field(default_factory=list)  # (request, tokens to compute)
    preempted: list[Request] = field(default_factory=list)

    @property
    def num_tokens(self) -> int:
        return sum(n for _, n in self.items)


class Scheduler:
    def __init__(self, kv: KVCacheManager, max_num_batched_tokens: int, max_num_seqs: int):
        self.kv = kv
        self.max_num_batched_tokens = max_num_batched_tokens
        self.max_num_seqs = max_num_seqs
        self.waiting: deque[Request] = deque()
        self.running: list[Request] = []
        self.num_preemptions = 0

    def add(self, req: Request, first: bool = False) -> None:
        req.status = Status.WAITING
        if first:
            self.waiting.appendleft(req)
        else:
            self.waiting.append(req)

    def has_work(self) -> bool:
        return bool(self.waiting or self.running)

    def schedule(self) -> ScheduledBatch:
        batch = ScheduledBatch()
        budget = self.max_num_batched_tokens
        i = 0
        while i < len(self.running) and budget > 0:
            req = self.running[i]
            n = min(req.num_tokens - req.num_computed_tokens, budget)
            while not self.kv.allocate_slots(req, n):
                victim = self.running.pop()
                self._preempt(victim)
                batch.preempted.append(victim)
                if victim is req:
                    break
            if req.status is not Status.RUNNING:
                break
            batch.items.append((req, n))
            budget -= n
            i += 1
        if not batch.preempted:
            budget = self._admit(batch, budget)
        return batch

    def _admit(self, batch: ScheduledBatch, budget: int) -> int:
        while self.waiting and budget > 0 and len(self.running) < self.max_num_seqs:
            req = self.waiting[0]
            hits, hit_tokens = self.kv.get_computed_blocks(req)
            n = min(req.num_tokens - hit_tokens, budget)
            if not self.kv.allocate_slots(req, n, hits):
                break
            self.waiting.popleft()
            if req.first_scheduled_time is None:
                req.first_scheduled_time = time.monotonic()
                req.num_cached_tokens = hit_tokens
            req.num_computed_tokens = hit_tokens
            req.status = Status.RUNNING
            self.running.append(req)
            batch.items.append((req, n))
            budget -= n
        return budget

    def _preempt(self, req: Request) -> None:
        self.kv.free(req)
        req.num_computed_tokens = 0
        req.num_preemptions += 1
        self.num_preemptions += 1
        self.add(req, first=True)

    def finish(self, req: Request) -> None:
        """Remove a request from whichever queue holds it and free its blocks."""
        if req.status is Status.RUNNING:
            self.running.remove(req)
        elif req.status is Status.WAITING:
            self.waiting.remove(req)
        req.status = Status.FINISHED
        self.kv.free(req)
