"""Host memory: keep freed activation buffers in the process, hand back pages a load is done with.

Why the buffers: glibc serves every block over 128 KiB with its own mmap and unmaps it on free
(raising that threshold only as it sees larger frees), and trims the heap top. A
step on CPU frees megabytes of activations that the next step allocates again, so
in a fresh process every step faults those pages back in and the kernel zeroes
them. Fixing the thresholds keeps them mapped: the online benchmark's fp32
throughput in a fresh process went from about 133 to 160 tokens/s.
"""

import ctypes
import ctypes.util
import mmap
from collections.abc import Iterable
from functools import cache

import torch

_M_TRIM_THRESHOLD = -1  # mallopt parameters, from glibc's malloc.h
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD = 32 * 2**20  # glibc's largest; bigger blocks (weights, the KV cache) are still mapped alone
_TRIM_THRESHOLD = 2**31 - 1  # an int: never trim in practice


def keep_freed_buffers() -> bool:
    """Set glibc's malloc thresholds for this process; False where the C library is not glibc."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False  # not glibc (musl, macOS): nothing to tune
    return bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD))


def trim_heap() -> None:
    """Give the heap's free memory back to the kernel (glibc's malloc_trim), once a load is done:
    the transient buffers of repacking leave free holes that would count in RSS."""
    try:
        ctypes.CDLL(ctypes.util.find_library("c")).malloc_trim(0)
    except (OSError, AttributeError, TypeError):
        pass  # not glibc


_MADV_PAGEOUT = 21  # Linux 5.4+: reclaim the pages now; their contents are kept


def release_pages(tensors: Iterable[torch.Tensor]) -> None:
    """Reclaim the resident pages under CPU tensors whose contents were copied elsewhere.

    Why: safetensors maps whole files, and every page a load reads stays in the
    process's RSS while any tensor of the file (the embedding, kept as a view) is
    alive. MADV_PAGEOUT keeps the contents (a later read faults file pages back in),
    so it is safe on any memory; where it is missing nothing happens.
    """
    madvise = _madvise()
    if madvise is None:
        return
    page = mmap.PAGESIZE
    for t in tensors:
        if t.device.type != "cpu" or t.numel() == 0:
            continue
        start = t.data_ptr()
        lo, hi = -(-start // page) * page, (start + t.numel() * t.element_size()) // page * page
        if hi > lo:
            madvise(ctypes.c_void_p(lo), ctypes.c_size_t(hi - lo), _MADV_PAGEOUT)


@cache
def _madvise():
    try:
        return ctypes.CDLL(ctypes.util.find_library("c")).madvise
    except (OSError, AttributeError, TypeError):
        return None
