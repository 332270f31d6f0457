"""Shared benchmark machinery: thread control, alternating timing, graceful 'n/a'.

Every case is a pair of zero-argument callables, ``ours()`` and ``theirs()`` (PyTorch), that do
the same float32 work. ``alternate`` calls them in turn (flipping which goes first every pair),
so both frameworks see the same machine load, and reports the median of the per-pair ratios
ours/PyTorch: on a shared, noisy machine that ratio is far steadier than either time alone.
"""
from __future__ import annotations

import os
import statistics
import time


class Unavailable(Exception):
    """A case cannot run because a convnet module or function does not exist (yet)."""


def set_threads(n):
    """Give NumPy's BLAS (via threadpoolctl), convnet's conv workers and PyTorch ``n`` threads.

    Returns the threadpoolctl controller; keep a reference for the life of the process.
    """
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(n)
    os.environ["CONVNET_NUM_THREADS"] = str(n)  # convnet's own conv worker pool, if it has one
    return threadpool_limits(limits=n, user_api="blas")


def default_threads():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        return os.cpu_count() or 1


def _time_block(fn, k):
    t0 = time.perf_counter()
    for _ in range(k):
        fn()
    return (time.perf_counter() - t0) / k


def alternate(ours, theirs, pairs, warmup=1, min_sample_s=0.02):
    """Time ``ours`` and ``theirs`` alternately; return a dict of medians and the ratio.

    Each sample repeats a callable ``k`` times (``k`` chosen from the warm-up so a sample
    lasts at least ``min_sample_s``; the same ``k`` for both) and records the mean per call.
    """
    t_o = t_t = 0.0
    for _ in range(warmup):
        t_o = _time_block(ours, 1)
        t_t = _time_block(theirs, 1)
    k = max(1, int(min_sample_s / max(min(t_o, t_t), 1e-7)))
    to, tt = [], []
    for i in range(pairs):
        if i % 2 == 0:
            to.append(_time_block(ours, k))
            tt.append(_time_block(theirs, k))
        else:
            tt.append(_time_block(theirs, k))
            to.append(_time_block(ours, k))
    ratios = [a / b for a, b in zip(to, tt)]
    return {
        "ours_ms": 1e3 * statistics.median(to),
        "torch_ms": 1e3 * statistics.median(tt),
        "ratio": statistics.median(ratios),
        "ratio_lo": min(ratios),
        "ratio_hi": max(ratios),
        "pairs": pairs,
        "calls_per_sample": k,
    }


def time_one(fn, reps, warmup=1):
    """Median seconds of ``fn()`` over ``reps`` calls."""
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def need(module, *names):
    """Import ``module`` and return its attributes ``names``; raise Unavailable if missing."""
    import importlib

    try:
        mod = importlib.import_module(module)
    except Exception as exc:  # ImportError, or a half-written file raising anything
        raise Unavailable(f"{module}: {type(exc).__name__}: {exc}") from None
    if not names:
        return mod
    out = []
    for n in names:
        if not hasattr(mod, n):
            raise Unavailable(f"{module}.{n} does not exist")
        out.append(getattr(mod, n))
    return out[0] if len(out) == 1 else tuple(out)


def machine_info():
    """nproc, CPU model, NumPy/BLAS and torch versions, as a dict of strings."""
    import platform

    import numpy as np
    import torch
    from threadpoolctl import threadpool_info

    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    flags = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    fl = line.split(":", 1)[1].split()
                    flags = " ".join(x for x in ("avx2", "fma", "avx512f") if x in fl)
                    break
    except OSError:
        pass
    blas = [f"{d.get('internal_api')} {d.get('version')} ({d.get('architecture')}, "
            f"{d.get('threading_layer')})" for d in threadpool_info() if d.get("user_api") == "blas"]
    return {
        "nproc": str(default_threads()),
        "cpu": cpu + (f" [{flags}]" if flags else ""),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numpy BLAS": "; ".join(blas) or "unknown",
        "torch": torch.__version__ + f" (MKL-DNN: {torch.backends.mkldnn.is_available()})",
    }
