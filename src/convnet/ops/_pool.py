"""Recycled memory for large op outputs (activations and gradients of a training step).

A training step allocates the same set of multi-megabyte arrays every step. Fresh allocations
of that size come from the system zero-filled and cost a page fault per 4 KB on first touch
(~18,000 per ResNet-20 step here, ~2 us each, and they serialise worker threads). This pool
keeps the buffers instead and hands one out again once nothing refers to it any more.

"Nothing refers to it" is exact, not a guess: every NumPy view of a buffer, however derived
(reshape, transpose, slice, a user's ``.data``), holds a reference to the buffer itself, so a
buffer whose reference count is the pool's own is unused. Outputs are uninitialised, like
``numpy.empty``. Small arrays (< ``MIN_BYTES``) and non-NumPy arrays bypass the pool.
"""
from __future__ import annotations

import math
import sys
import threading

from .._backend import array_module
from ._util import is_channels_last

# Smaller arrays come from malloc's own free lists. From glibc's mmap threshold (128 KB) up, a
# freed block can go back to the system, and its next allocation faults again: from 1 MB, a
# LeNet-5 step (128 images, 0.6-0.8 MB activations) took 568 page faults; from 128 KB, none.
MIN_BYTES = 128 << 10
# Buffers start on this boundary (a cache line): the C conv kernels' vector loads and stores of
# 16 floats then never straddle two lines (64->64 channels: 5.6 -> 4.2 ms forward, 1 thread).
ALIGN = 64
# Most bytes the pool keeps. A new buffer that would pass it first drops the unused ones (sizes
# from an earlier batch size, say); if still over, it is an ordinary array, freed when unused.
# The pool never holds more than the largest set of same-sized outputs alive at one time.
MAX_BYTES = 2 << 30

_lock = threading.Lock()
_buffers = {}                                                     # nbytes -> [uint8 buffers]
_held = [0]                                                       # bytes kept in _buffers


def _refcounts(bufs):
    """Reference counts of the buffers in ``bufs`` as seen from this loop (the list, the loop
    variable and the call's argument add their share, the same for every buffer)."""
    return [sys.getrefcount(buf) for buf in bufs]


def _unused_count():
    """The count :func:`_refcounts` reports for a buffer nothing else refers to, measured once
    on this interpreter; None (pool off) if one extra view does not add exactly one."""
    try:
        import numpy as np
        probe = [np.empty(1, dtype=np.uint8)]
        (alone,) = _refcounts(probe)
        view = probe[0][:]
        (with_view,) = _refcounts(probe)
        del view
        return alone if with_view == alone + 1 else None
    except Exception:  # pragma: no cover - e.g. an interpreter without sys.getrefcount
        return None


_UNUSED = _unused_count()


def _free(bufs):
    """A buffer of ``bufs`` that no array refers to, or None."""
    for buf, count in zip(bufs, _refcounts(bufs)):
        if count == _UNUSED:
            return buf
    return None


def _counts(a):
    """(references to ``a``, references to the array owning its memory or None) as seen from here."""
    base = a.base
    return sys.getrefcount(a), (None if base is None else sys.getrefcount(base))


def _counts_via_caller(a):
    """:func:`_counts` one call deep, as :func:`keep_gradient` sees its argument."""
    return _counts(a)


def _sole_counts():
    """What :func:`_counts_via_caller` reports for an array that only its caller's one variable refers
    to: (count, count of its memory's owner when only this view refers to it), measured once on
    this interpreter; None (never keep) if one extra reference does not add exactly one."""
    try:
        import numpy as np
        a = np.empty(1)
        (alone, _), extra = _counts_via_caller(a), a
        if _counts_via_caller(a)[0] != alone + 1:
            return None
        del extra
        v = np.empty(2)[:1]                                      # its owner: referred to by v alone
        _, owner = _counts_via_caller(v)
        w = v[:]                                                 # a second view refers to the owner too
        if _counts_via_caller(v)[1] != owner + 1:
            return None
        del w
        return alone, owner
    except Exception:  # pragma: no cover - e.g. an interpreter without sys.getrefcount
        return None


_SOLE = _sole_counts()


def _pooled(owner):
    """Whether ``owner`` is one of the pool's buffers (which the pool itself refers to once)."""
    with _lock:
        return any(b is owner for b in _buffers.get(owner.nbytes, ()))


def keep_gradient(g, dtype):
    """A leaf's new gradient: ``g`` itself when nothing but the caller refers to its memory (the
    autograd engine's last use of it, as PyTorch steals the gradient), else a ``dtype`` copy.
    A view of a pool buffer counts as sole when the pool's own reference is the only other one;
    the pool does not hand the buffer out while the gradient refers to it."""
    if _SOLE is None or type(g).__module__ != "numpy" or type(g).__name__ != "ndarray" or g.dtype != dtype:
        return g.astype(dtype, copy=True)
    count, owner_count = _counts(g)                               # called as _sole_counts calibrated it
    if count == _SOLE[0]:
        if g.base is None:
            return g
        owner = g.base
        if type(owner) is type(g) and (owner_count == _SOLE[1]
                                       or (owner_count == _SOLE[1] + 1 and _pooled(owner))):
            return g
    return g.astype(dtype, copy=True)


def empty(xp, shape, dtype):
    """``xp.empty(shape, dtype)``, from recycled memory for large NumPy arrays."""
    dtype = xp.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes < MIN_BYTES or xp.__name__ != "numpy" or _UNUSED is None:
        return xp.empty(shape, dtype=dtype)
    size = nbytes + ALIGN                                         # room to start on a 64-byte boundary
    with _lock:
        bufs = _buffers.setdefault(size, [])
        buf = _free(bufs)
        if buf is None:
            if _held[0] + size > MAX_BYTES:
                _drop_unused()                                    # e.g. sizes of an earlier batch size
            buf = xp.empty(size, dtype=xp.uint8)
            if _held[0] + size <= MAX_BYTES:
                bufs.append(buf)
                _held[0] += size
        start = -buf.ctypes.data % ALIGN
        return buf[start:start + nbytes].view(dtype).reshape(shape)  # (size,) uint8 -> shape, aligned


def empty_like(a):
    """:func:`empty` with ``a``'s shape and dtype, channels-last when ``a`` is (gradients and
    outputs follow the layout of what they come from, as in PyTorch)."""
    xp = array_module(a)
    if is_channels_last(a):
        last = empty(xp, (a.shape[0],) + a.shape[2:] + (a.shape[1],), a.dtype)
        return xp.moveaxis(last, -1, 1)                           # (N, *S, C) viewed as (N, C, *S)
    return empty(xp, a.shape, a.dtype)


def _drop_unused():
    """Forget every kept buffer that nothing uses (caller holds ``_lock``)."""
    for nbytes, bufs in list(_buffers.items()):
        keep = [b for b, count in zip(bufs, _refcounts(bufs)) if count != _UNUSED]
        _held[0] -= nbytes * (len(bufs) - len(keep))
        _buffers[nbytes] = keep


def clear():
    """Drop every buffer the pool keeps that nothing uses (the memory goes back to the system)."""
    with _lock:
        _drop_unused()


def held_bytes():
    """Bytes the pool keeps (in use or free)."""
    return _held[0]


__all__ = ["empty", "empty_like", "keep_gradient", "clear", "held_bytes", "MIN_BYTES", "MAX_BYTES"]
