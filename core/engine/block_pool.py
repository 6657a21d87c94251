"""KV cache blocks: reference counts, an LRU free queue and the prefix-cache map.

vLLM v1 semantics. Every block with no users sits in the free queue, including
blocks that still hold a cached prefix: they are reused (and their hash evicted)
only when they reach the head of the queue, so a recently freed prefix survives
as long as possible. Block tables are append-only; two requests may hold
different blocks with the same hash, and the map keeps both until one is evicted.
"""

import hashlib
from array import array


class Block:
    __slots__ = ("block_id", "ref_cnt", "block_hash", "prev", "next")

    def __init__(self, block_id: int):
        self.block_id = block_id
        self.ref_cnt = 0
        self.block_hash: bytes | None = None
        self.prev: Block | None = None
        self.next: Block | None = None

    def __repr__(self) -> str:
        return f"Block({self.block_id}, ref={self.ref_cnt}, cached={self.block_hash is not None})"


class FreeBlockQueue:
    """Doubly linked list threaded through the blocks: O(1) popleft, remove and append."""

    def __init__(self, blocks: list[Block]):
        self.head = Block(-1)  # sentinels
        self.tail = Block(-1)
        self.head.next, self.tail.prev = self.tail, self.head
        self.size = 0
        for block in blocks:
            self.append(block)

    def __len__(self) -> int:
        return self.size

    def append(self, block: Block) -> None:
        last = self.tail.prev
        last.next, block.prev, block.next, self.tail.prev = block, last, self.tail, block
        self.size += 1

    def remove(self, block: Block) -> None:
        block.prev.next, block.next.prev = block.next, block.prev
        block.prev = block.next = None
        self.size -= 1

    def popleft(self) -> Block:
        if self.size == 0:
            raise IndexError("no free blocks")
        block = self.head.next
        self.remove(block)
        return block

    def __iter__(self):
        block = self.head.next
        while block is not self.tail:
            yield block
            block = block.next


def hash_block(parent: bytes | None, tokens: list[int]) -> bytes:
    """sha256(parent digest + int64 tokens): stable across processes, chained so a hash names a whole prefix."""
    digest = hashlib.sha256(parent or b"")
    digest.update(array("q", tokens).tobytes())
    return digest.digest()


class BlockPool:
    def __init__(self, num_blocks: int, enable_caching: bool = True):
        self.num_blocks = num_blocks
        self.enable_caching = enable_caching
        self.blocks = [Block(i) for i in range(num_blocks)]
        self.free_queue = FreeBlockQueue(self.blocks)
        self.cached: dict[bytes, dict[int, Block]] = {}
        self.num_cached = 0  # blocks holding a cached prefix (a counter, so metrics never walk the map)

    @property
    def num_free(self) -> int:
        return len(self.free_queue)

    def get_new_blocks(self, n: int) -> list[Block]:
        """Take n blocks from the LRU head, evicting whatever prefix they still cache."""
        if n > self.num_free:
            raise ValueError(f"asked for {n} blocks, {self.num_free} free")
        blocks = []
        for _ in range(n):
            block = self.free_queue.popleft()
            self._evict(block)
            block.ref_cnt = 1
            blocks.append(block)
        return blocks

    def get_cached_block(self, block_hash: bytes) -> Block | None:
        group = self.cached.get(block_hash)
        return next(iter(group.values())) if group else None

    def touch(self, blocks: list[Block]) -> None:
        """A prefix hit: the blocks gain a user and leave the free queue if they were idle."""
        for block in blocks:
            if block.ref_cnt == 0:
                self.free_queue.remove(block)
            block.ref_cnt += 1

    def free_blocks(self, blocks_in_eviction_order) -> None:
        for block in blocks_in_eviction_order:
            block.ref_cnt -= 1
            if block.ref_cnt == 0:
                self.free_queue.append(block)

    def cache_block(self, block: Block, block_hash: bytes) -> None:
        if not self.enable_caching or block.block_hash is not None:
            return
        block.block_hash = block_hash
        self.cached.setdefault(block_hash, {})[block.block_id] = block
        self.num_cached += 1

    def _evict(self, block: Block) -> None:
        if block.block_hash is None:
            return
        group = self.cached[block.block_hash]
        del group[block.block_id]
        if not group:
            del self.cached[block.block_hash]
        block.block_hash = None
        self.num_cached -= 1

    def reset_prefix_cache(self) -> None:
        if self.num_free != self.num_blocks:
            raise RuntimeError("the prefix cache can only be reset when no block is in use")
        for block in self.blocks:
            self._evict(block)

    def check_invariants(self) -> None:
        """The pool's bookkeeping is consistent (tests call this after every operation)."""
        queued = list(self.free_queue)
        assert len(queued) == self.num_free, "free queue length is out of sync"
        assert len({b.block_id for b in queued}) == len(queued), "a block is queued twice"
        assert all(b.ref_cnt == 0 for b in queued), "a block in use is in the free queue"
        in_use = [b for b in self.blocks if b.ref_cnt > 0]
        assert all(b.ref_cnt >= 0 for b in self.blocks), "negative reference count"
        assert self.num_free + len(in_use) == self.num_blocks, "a block is neither free nor in use"
        for block in self.blocks:
            if block.block_hash is not None:
                assert self.cached[block.block_hash][block.block_id] is block, "hashed block missing from the map"
        for block_hash, group in self.cached.items():
            assert all(b.block_hash == block_hash for b in group.values()), "map entry with a stale hash"
        assert self.num_cached == sum(len(group) for group in self.cached.values()), "cached-block count is off"
