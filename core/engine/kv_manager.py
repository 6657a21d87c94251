"""Which KV blocks each request holds, and prefix-cache lookups (vLLM v1's KVCacheManager).

A request's blocks are found by hashing its full blocks of tokens; a hit skips
recomputing them. Blocks are published to the cache only once their K/V has
actually been written (after the step that computed them), so a request that is
preempted before its step runs can never leave an unwritten block behind a hash.
"""

from .block_pool import Block, BlockPool, hash_block
from .request import Request


class KVCacheManager:
    def __init__(self, num_blocks: int, block_size: int, enable_caching: bool = True):
        self.block_size = block_size
        self.pool = BlockPool(num_blocks, enable_caching)
        self.req_blocks: dict[str, list[Block]] = {}
        self.num_cached_blocks: dict[str, int] = {}
        self.queried_tokens = 0
        self.hit_tokens = 0

    def block_hashes(self, req: Request) -> list[bytes]:
        """Hashes of the request's full blocks of known tokens, extended incrementally."""
        size, hashes, tokens = self.block_size, req.block_hashes, req.token_ids
        while (len(hashes) + 1) * size <= len(tokens):
            start = len(hashes) * size
            hashes.append(hash_block(hashes[-1] if hashes else None, tokens[start : start + size]))
        return hashes

    def get_computed_blocks(self, req: Request) -> tuple[list[Block], int]:
        """The longest cached prefix, leaving at least one token to compute (its logits are needed)."""
        if not self.pool.enable_caching:
            return [], 0
        hits = []
        limit = (req.num_tokens - 1) // self.block_size
        for block_hash in self.block_hashes(req)[:limit]:
            block = self.pool.get_cached_block(block_hash)
            if block is None:
                break
            hits.append(block)
        self.queried_tokens += req.num_tokens
        self.hit_tokens += len(hits) * self.block_size
        return hits, len(hits) * self.block_size

    def allocate_slots(self, req: Request, num_new_tokens: int, computed: list[Block] = ()) -> bool:
        """Give the request room for `num_new_tokens` more tokens; False if the pool cannot."""
        blocks = self.req_blocks.get(req.request_id, [])
        total = req.num_computed_tokens + len(computed) * self.block_size + num_new_tokens
        needed = -(-total // self.block_size) - len(blocks) - len(computed)
        idle_hits = sum(1 for block in computed if block.ref_cnt == 0)  # touching takes them off the free queue
        if needed > self.pool.num_free - idle_hits:
            return False
        self.pool.touch(computed)
        blocks = self.req_blocks.setdefault(req.request_id, blocks)
        blocks.extend(computed)
        blocks.extend(self.pool.get_new_blocks(max(needed, 0)))
        return True

    def cache_computed_blocks(self, req: Request) -> None:
        """Publish the request's blocks that are now full and written."""
        blocks = self.req_blocks.get(req.request_id)
        if not blocks or not self.pool.enable_caching:
            return
        done = self.num_cached_blocks.get(req.request_id, 0)
        full = req.num_computed_tokens // self.block_size
        if full <= done:
            return
        hashes = self.block_hashes(req)
        for i in range(done, full):
            self.pool.cache_block(blocks[i], hashes[i])
        self.num_cached_blocks[req.request_id] = full

    def free(self, req: Request) -> None:
        """Release the request's blocks; the tail goes first, so shared prefixes are evicted last."""
        blocks = self.req_blocks.pop(req.request_id, [])
        self.num_cached_blocks.pop(req.request_id, None)
        self.pool.free_blocks(reversed(blocks))

    def block_ids(self, req: Request) -> list[int]:
        return [block.block_id for block in self.req_blocks[req.request_id]]

    def blocks_needed(self, num_tokens: int) -> int:
        return -(-num_tokens // self.block_size)
