"""Per-thread scratch buffers that batch-chunk kernels reuse from call to call.

A fresh multi-megabyte temporary costs page faults on every call (the allocator hands large
blocks back to the system and gets them back zeroed), and on two threads those faults
serialise: a channels-last conv chunk ran 1.5x slower per chunk on two workers than on one.
Chunk kernels take their temporaries from :func:`scratch` instead: one growable buffer per
(thread, name), never handed to a caller, so no result aliases it. Contents are undefined.
Memory: each name holds the largest chunk buffer asked of it (chunks are ~2 MB).
"""
from __future__ import annotations

import math
import threading

_local = threading.local()


def scratch(xp, name, shape, dtype):
    """An uninitialised ``shape`` array private to this thread, reusing the memory of earlier
    calls with the same ``name`` (a view of one growable flat buffer per name and dtype)."""
    store = getattr(_local, "store", None)
    if store is None:
        store = _local.store = {}
    key = (xp.__name__, name, str(dtype))
    n = math.prod(shape)
    buf = store.get(key)
    if buf is None or buf.size < n:
        buf = store[key] = aligned_empty(xp, max(n, 1), dtype)
    return buf[:n].reshape(shape)                                 # (n,) -> shape


def aligned_empty(xp, n, dtype, align=64):
    """A flat ``n``-element array starting on an ``align``-byte boundary (NumPy's own allocations
    are only 16-byte aligned; vector kernels want whole cache lines). Other array modules: plain."""
    if xp.__name__ != "numpy":
        return xp.empty(n, dtype=dtype)
    item = xp.dtype(dtype).itemsize
    raw = xp.empty(n * item + align, dtype=xp.uint8)
    start = -raw.ctypes.data % align
    return raw[start:start + n * item].view(dtype)                # (bytes,) uint8 -> (n,) dtype


__all__ = ["scratch", "aligned_empty"]
