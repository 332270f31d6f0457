"""The worker pool that the NumPy kernels' batch chunks share (the C kernels have their own
threads, ``_cthreads.c`` through :func:`._clib.run`).

NumPy releases the GIL inside copies, reductions and GEMMs, so splitting the batch over one
thread per core runs those in parallel; BLAS is pinned to one thread while the pool works,
which degrades gracefully on a busy machine where BLAS's own fork-join threading stalls.
"""
from __future__ import annotations

import contextlib
import os
import threading
from concurrent.futures import wait


def num_threads():
    """Worker threads for conv kernels: ``$CONVNET_NUM_THREADS`` or the usable CPU count
    (looked up once per process: ``sched_getaffinity`` is a system call, and this runs per op)."""
    env = os.environ.get("CONVNET_NUM_THREADS")
    if env:
        return max(1, int(env))
    pid = os.getpid()
    if _cpus[0] != pid:
        _cpus[:] = [pid, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)]
    return _cpus[1]


# Work run inline (too small for the pool) still calls BLAS, and a big enough GEMM there wakes
# BLAS's own threads, which then spin for a while and take a core from the pool's workers
# (LeNet-5 C5, 128 images: 22 -> 15 ms per training step with this). Inline work of at least
# this many bytes runs with BLAS on one thread (~9 us to switch; batch-1 inference stays below).
INLINE_PIN_BYTES = 128 << 10

_cpus = [None, 1]                                                 # [pid, usable CPUs] cache
_pool = {"pid": None, "executor": None, "blas": None, "limiter": None, "users": 0}
_pool_lock = threading.Lock()


def _executor():
    """The worker pool, created once per process (again after a fork: threads do not survive it)."""
    with _pool_lock:
        if _pool["pid"] != os.getpid():
            from concurrent.futures import ThreadPoolExecutor

            try:
                from threadpoolctl import ThreadpoolController
                _pool["blas"] = ThreadpoolController()
            except ImportError:  # pragma: no cover - threadpoolctl is a dependency
                _pool["blas"] = None
            _pool["executor"] = ThreadPoolExecutor(num_threads(), thread_name_prefix="convnet-conv")
            _pool["pid"], _pool["users"] = os.getpid(), 0
        return _pool["executor"]


@contextlib.contextmanager
def _blas_single_threaded():
    """Pin BLAS to one thread while any conv runs on the pool (reference-counted, so convs
    running concurrently from several user threads restore the original setting exactly once)."""
    with _pool_lock:
        if _pool["users"] == 0:
            _pool["limiter"] = _pool["blas"].limit(limits=1, user_api="blas")
        _pool["users"] += 1
    try:
        yield
    finally:
        with _pool_lock:
            _pool["users"] -= 1
            if _pool["users"] == 0:
                _pool["limiter"].restore_original_limits()


def single_threaded_blas():
    """Context manager: BLAS on one thread inside (reference-counted, see :func:`_blas_single_threaded`)."""
    _executor()                                                   # creates the BLAS controller
    if _pool["blas"] is None:  # pragma: no cover
        return contextlib.nullcontext()
    return _blas_single_threaded()


def _in_worker():
    return threading.current_thread().name.startswith("convnet-conv")


def map_chunks(xp, work, slices, total_bytes, min_bytes):
    """``[work(sl) for sl in slices]``, in order; on NumPy with enough work, run on the pool
    with BLAS limited to one thread per worker (slices go to whichever thread is free, see
    :func:`_shared`). Workers write disjoint slices of the output."""
    numpy, threads = xp.__name__ == "numpy", num_threads()
    if len(slices) < 2 or total_bytes < min_bytes or not numpy or threads < 2 or _in_worker():
        if not numpy or total_bytes < INLINE_PIN_BYTES or threads < 2 or _in_worker():
            return [work(sl) for sl in slices]
        with single_threaded_blas():                              # see INLINE_PIN_BYTES
            return [work(sl) for sl in slices]
    with single_threaded_blas():
        return _shared(work, slices)


def _shared(work, slices):
    """``[work(sl) for sl in slices]``, each slice taken by whichever thread is free next: the
    calling thread and up to ``num_threads() - 1`` pool workers. A worker that has not started by
    the time the caller ran out of slices is cancelled, not waited for: on a busy machine (or
    beside another library's spinning threads) a late worker costs nothing but its wake-up."""
    pool = _executor()
    results = [None] * len(slices)
    todo = iter(range(len(slices)))                               # next() on it is atomic under the GIL

    def drain():
        for i in todo:
            results[i] = work(slices[i])

    helpers = [pool.submit(drain) for _ in range(min(num_threads(), len(slices)) - 1)]
    try:
        drain()
    finally:
        started = [f for f in helpers if not f.cancel()]
        wait(started)
    for f in started:
        f.result()                                                # a worker's exception, raised here
    return results


def even_slices(n, parts=None):
    """``parts`` (default: one per worker thread) contiguous, nearly equal slices covering ``range(n)``;
    fewer when ``n < parts``, and ``[slice(0, 0)]`` for ``n == 0``."""
    parts = min(num_threads() if parts is None else parts, n)
    if parts <= 0:
        return [slice(0, 0)]
    q, r = divmod(n, parts)
    bounds = [i * q + min(i, r) for i in range(parts + 1)]
    return [slice(bounds[i], bounds[i + 1]) for i in range(parts)]


def map_chunks_light(xp, work, slices, total_bytes, min_bytes):
    """:func:`map_chunks` for kernels that make no BLAS calls (ufuncs, einsum sums): BLAS keeps its
    setting."""
    if len(slices) < 2 or total_bytes < min_bytes or xp.__name__ != "numpy" or num_threads() < 2 or _in_worker():
        return [work(sl) for sl in slices]
    return _shared(work, slices)
