"""Give freed memory back to the system during a long streaming run.

A rehearsal allocates and frees hundreds of megabytes per batch (Arrow buffers in Arrow's
pool, numpy and Python objects in glibc's heaps, from several threads). Both allocators keep
what was freed for reuse, and over millions of records the kept pieces fragment: resident
memory drifts upward with the input size although live data does not. Returning free
memory every few batches keeps the peak flat.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import gc
from functools import lru_cache

import pyarrow as pa


@lru_cache(maxsize=1)
def _malloc_trim():
    """glibc's malloc_trim, or None where the C library has none (musl, macOS)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def release_free_memory() -> None:
    # Decode failures and Arrow/numpy temporaries form reference cycles the generational GC
    # seldom reaches in numpy-heavy code: collect them first, then hand back what is free.
    gc.collect()
    pa.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
