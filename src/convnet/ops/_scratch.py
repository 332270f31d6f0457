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
        buf = store[key] = xp.empty(max(n, 1), dtype=dtype)
    return buf[:n].reshape(shape)                                 # (n,) -> shape


__all__ = ["scratch"]
