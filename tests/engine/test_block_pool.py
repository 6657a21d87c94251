"""The KV block pool: LRU reuse, prefix-cache hashing, and no leaks under any add/step/abort sequence."""

from hypothesis import given, settings
from hypothesis import strategies as st

from toolsmith.core.engine.block_pool import BlockPool, hash_block
from toolsmith.core.engine.kv_manager import KVCacheManager
from toolsmith.core.engine.request import Request
from toolsmith.core.engine.scheduler import Scheduler
from toolsmith.core.inference.sampling import SamplingParams


class CountingSampler:
    def append(self, token_id):
        pass


def request(rid: str, tokens: list[int], max_tokens: int = 4) -> Request:
    return Request(rid, tokens, SamplingParams(max_tokens=max_tokens), CountingSampler(), detokenizer=None)


def test_freed_blocks_are_reused_least_recently_freed_first():
    pool = BlockPool(4)
    a, b = pool.get_new_blocks(2), pool.get_new_blocks(2)
    pool.free_blocks(b)
    pool.free_blocks(a)
    assert [blk.block_id for blk in pool.get_new_blocks(4)] == [2, 3, 0, 1]
    pool.check_invariants()


def test_cached_block_survives_until_reused_then_is_evicted():
    pool = BlockPool(2)
    [blk] = pool.get_new_blocks(1)
    h = hash_block(None, [1, 2])
    pool.cache_block(blk, h)
    pool.free_blocks([blk])
    assert pool.get_cached_block(h) is blk  # free but still cached
    pool.touch([blk])  # a prefix hit revives it
    assert pool.num_free == 1 and blk.ref_cnt == 1
    pool.free_blocks([blk])
    pool.get_new_blocks(2)  # needs every block: the cached one is evicted
    assert pool.get_cached_block(h) is None
    pool.check_invariants()


def test_block_hashes_chain_the_whole_prefix():
    a = hash_block(None, [1, 2])
    assert hash_block(None, [1, 2]) == a
    assert hash_block(a, [3, 4]) != hash_block(hash_block(None, [9, 9]), [3, 4])


def test_a_finished_request_frees_its_tail_first_so_shared_prefixes_live_longest():
    kv = KVCacheManager(num_blocks=6, block_size=2)
    req = request("r", [1, 2, 3, 4, 5, 6])
    assert kv.allocate_slots(req, 6)
    req.num_computed_tokens = 6
    kv.cache_computed_blocks(req)
    ids = kv.block_ids(req)
    kv.free(req)
    assert [b.block_id for b in kv.pool.free_queue][-3:] == ids[::-1]
    hits, n = kv.get_computed_blocks(request("s", [1, 2, 3, 4, 7]))
    assert [b.block_id for b in hits] == ids[:2] and n == 4


def test_allocation_fails_cleanly_when_the_pool_is_full():
    kv = KVCacheManager(num_blocks=2, block_size=2)
    assert kv.allocate_slots(request("a", [1, 2, 3]), 3)
    assert not kv.allocate_slots(request("b", [1]), 1)
    kv.pool.check_invariants()


ops = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.integers(1, 14), st.integers(1, 6), st.integers(0, 2)),
        st.tuples(st.just("step")),
        st.tuples(st.just("abort"), st.integers(0, 20)),
    ),
    max_size=60,
)


@settings(max_examples=60, deadline=None)
@given(ops=ops, block_size=st.integers(1, 4), budget=st.integers(1, 12))
def test_random_add_step_abort_never_leaks_blocks(ops, block_size, budget):
    """The scheduler and cache without the model: a step 'computes' its tokens and samples token 0."""
    num_blocks = 12
    kv = KVCacheManager(num_blocks, block_size)
    sched = Scheduler(kv, max_num_batched_tokens=budget, max_num_seqs=3)
    live: list[Request] = []

    def step():
        batch = sched.schedule()
        for req, n in batch.items:
            assert n > 0
            assert len(kv.req_blocks[req.request_id]) * block_size >= req.num_computed_tokens + n
            req.num_computed_tokens += n
            kv.cache_computed_blocks(req)
            if req.num_computed_tokens == req.num_tokens:
                req.append_token(0)
                if len(req.output_token_ids) >= req.params.max_tokens:
                    sched.finish(req)
        kv.pool.check_invariants()

    for op in ops:
        if op[0] == "add":
            _, length, max_tokens, prefix_family = op
            tokens = [prefix_family] * length  # shared prefixes, so the cache gets hits
            if kv.blocks_needed(length + max_tokens) <= num_blocks:  # admission control
                req = request(f"r{len(live)}", tokens, max_tokens)
                live.append(req)
                sched.add(req)
        elif op[0] == "step":
            step()
        elif live:
            req = live[op[1] % len(live)]
            if not req.finished:
                sched.finish(req)
            kv.pool.check_invariants()
    for _ in range(500):
        if not sched.has_work():
            break
        step()
    assert not sched.has_work(), "work left after 500 steps: a request starved"
    assert kv.pool.num_free == num_blocks
    assert not kv.req_blocks
