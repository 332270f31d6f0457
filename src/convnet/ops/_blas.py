"""``C = A·B + beta·C`` straight from the BLAS that NumPy itself links, for strided operands.

NumPy's ``matmul`` already hands 2-D operands with a unit stride in one axis to BLAS without a
copy, but it cannot *accumulate* (``beta = 1``). The shifted-GEMM convolution in
:mod:`.conv_shift` adds one product per kernel tap into the same output, so it calls
``cblas_?gemm`` through :mod:`ctypes` (found with threadpoolctl, which NumPy's wheels are
built to be inspected by). ctypes drops the GIL during the call, so the conv worker pool
runs these in parallel like NumPy's own GEMMs.

Everything falls back to ``xp.matmul`` (+ an add when accumulating) when the library or
symbol is not found, when a self-test at load fails, or for non-NumPy / non-float32/64 arrays.
"""
from __future__ import annotations

import ctypes
import threading

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112
# (symbol, integer type) in order of preference; the "64_" suffix marks an ILP64 build.
_SYMBOLS = (("scipy_cblas_{t}gemm64_", ctypes.c_int64), ("cblas_{t}gemm64_", ctypes.c_int64),
            ("scipy_cblas_{t}gemm", ctypes.c_int32), ("cblas_{t}gemm", ctypes.c_int32))
_state = {"loaded": False, "funcs": {}}
_lock = threading.Lock()


def _bind(lib, letter, real):
    for pattern, integer in _SYMBOLS:
        fn = getattr(lib, pattern.format(t=letter), None)
        if fn is None:
            continue
        fn.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, integer, integer, integer, real,
                       ctypes.c_void_p, integer, ctypes.c_void_p, integer, real, ctypes.c_void_p, integer]
        fn.restype = None
        return fn
    return None


def _self_test(np, fn, dtype):
    """A small strided, transposed, accumulating product checked against NumPy (catches an
    ABI mismatch such as a 32-bit-int symbol in an ILP64 build before it touches real data)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((7, 12)).astype(dtype)[:, 2:11]          # (7, 9), row stride 12
    b = rng.standard_normal((5, 9)).astype(dtype).T                  # (9, 5), transposed
    c = rng.standard_normal((7, 5)).astype(dtype)
    want = a.astype(np.float64) @ b.astype(np.float64) + c
    _call(fn, a, b, c, 1.0)
    return np.allclose(c, want, rtol=1e-4, atol=1e-4)


def _load():
    with _lock:
        if _state["loaded"]:
            return _state["funcs"]
        _state["loaded"] = True
        try:
            import numpy as np
            from threadpoolctl import threadpool_info

            paths = [i["filepath"] for i in threadpool_info()
                     if i.get("user_api") == "blas" and i.get("filepath")]
            for path in paths:
                lib = ctypes.CDLL(path)
                for letter, real, dtype in (("s", ctypes.c_float, np.float32), ("d", ctypes.c_double, np.float64)):
                    fn = _bind(lib, letter, real)
                    if fn is not None and _self_test(np, fn, dtype):
                        _state["funcs"][np.dtype(dtype)] = fn
                if _state["funcs"]:
                    break
        except Exception:  # pragma: no cover - any failure means: use NumPy's matmul
            _state["funcs"] = {}
        return _state["funcs"]


def _layout(m, item):
    """(transpose flag, leading dimension) of a 2-D operand with a unit stride in one axis."""
    s0, s1 = m.strides
    if s1 == item and s0 >= max(1, m.shape[1]) * item and s0 % item == 0:
        return _NO_TRANS, s0 // item
    if s0 == item and s1 >= max(1, m.shape[0]) * item and s1 % item == 0:
        return _TRANS, s1 // item
    return None, None


def _call(fn, a, b, c, beta):
    item = c.itemsize
    ta, lda = _layout(a, item)
    tb, ldb = _layout(b, item)
    (M, K), N = a.shape, b.shape[1]
    fn(_ROW_MAJOR, ta, tb, M, N, K, 1.0, a.ctypes.data, lda, b.ctypes.data, ldb, beta,
       c.ctypes.data, c.strides[0] // item)


def has_blas(dtype):
    """Whether :func:`gemm` reaches BLAS directly (not the matmul-and-add fallback) for ``dtype``."""
    return any(d == dtype for d in _load())


def gemm(xp, a, b, out, beta=0.0):
    """``out = a @ b + beta * out`` for 2-D ``a`` (M, K), ``b`` (K, N), ``out`` (M, N).

    ``a`` and ``b`` may be strided views (a unit stride in either axis); ``out`` must be
    row-major with unit column stride. With ``beta = 0`` the old contents of ``out`` are ignored.
    """
    fn = _load().get(out.dtype) if xp.__name__ == "numpy" else None
    if (fn is not None and a.dtype == b.dtype == out.dtype and a.shape[0] == out.shape[0]
            and b.shape[1] == out.shape[1] and a.shape[1] == b.shape[0] and min(a.shape + b.shape) > 0
            and out.strides[1] == out.itemsize and out.strides[0] >= out.shape[1] * out.itemsize
            and _layout(a, out.itemsize)[0] is not None and _layout(b, out.itemsize)[0] is not None):
        _call(fn, a, b, out, beta)
        return out
    if beta == 0:
        xp.matmul(a, b, out=out)
    else:
        out += a @ b
    return out


__all__ = ["gemm", "has_blas"]
