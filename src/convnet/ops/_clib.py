"""Loader of the optional C kernels (the extension ``convnet.ops._ckernels``: ``_cconv.c`` direct
convolution channels-last, ``_cplanes.c`` direct convolution on NCHW planes for few output
channels, ``_cnorm.c`` channels-last batch norm, ``_cact.c`` ReLU, ``_cpool.c`` max pooling,
``_clayout.c`` padded copies and bias), called through :mod:`ctypes`, and :func:`run`, which runs
batch chunks of kernel calls on the extension's own worker threads (``_cthreads.c``).

The extension is built by ``pip install`` when a C compiler is there (it is optional), its code
needs AVX-512 at run time, and ``CONVNET_C_KERNELS=0`` switches it off; in every other case
:func:`lib` is None and the ops run their NumPy code.
"""
from __future__ import annotations

import ctypes
import importlib.util
import os
import threading

_lock = threading.Lock()
_state = {}

_P, _I = ctypes.c_void_p, ctypes.c_int64
_SIGNATURES = {                                                   # name -> argument types (all return void)
    "cc_conv2d_forward": [_P, _P, _P, _I, _I, _P],
    "cc_conv2d_weight_grad": [_P, _P, _P, _I, _I, _P],
    "cc_bn_moments": [_P, _I, _I, _P, _P, _P, _I],
    "cc_bn_affine": [_P, _P, _I, _I, _P, _P],
    "cc_bn_grad_sums": [_P, _P, _I, _I, _P, _P, _P],
    "cc_bn_grad_input": [_P, _P, _P, _I, _I, _P, _P, _P, _P],
    "cc_relu_forward": [_P, _P, _I],
    "cc_relu_backward": [_P, _P, _P, _I],
    "cc_conv2d_planes_forward": [_P, _P, _P, _I, _I, _P],
    "cc_conv2d_planes_weight_grad": [_P, _P, _P, _I, _I, _P],
    "cc_maxpool2d_planes_forward": [_P, _P, _P, _I, _P],
    "cc_maxpool2d_planes_backward": [_P, _P, _P, _I, _P],
    "cc_maxpool2d_last_forward": [_P, _P, _P, _I, _I, _P],
    "cc_maxpool2d_last_backward": [_P, _P, _P, _I, _I, _P],
    "cc_pad_last": [_P, _P, _I, _P],
    "cc_pad_planes": [_P, _P, _I, _P],
    "cc_bias_last": [_P, _P, _I, _I],
    "cc_bias_planes": [_P, _P, _I, _I, _I],
}
# How long an idle worker of the C kernels' pool spins before it sleeps, in microseconds (waking a
# sleeping one costs ~45 us here; measured in _cthreads.c). CONVNET_SPIN_US=0: sleep at once.
SPIN_US = int(os.environ.get("CONVNET_SPIN_US", "300"))


def lib():
    """The loaded library with its functions typed, or None (not built, not x86-64 with AVX-512,
    or switched off with ``CONVNET_C_KERNELS=0``). Loaded once; later calls take no lock."""
    if "lib" in _state:
        return _state["lib"]
    with _lock:
        if "lib" in _state:
            return _state["lib"]
        found = None
        if os.environ.get("CONVNET_C_KERNELS", "1") != "0":
            try:
                spec = importlib.util.find_spec(__package__ + "._ckernels")
                if spec is not None and spec.origin:
                    cdll = ctypes.CDLL(spec.origin)
                    if cdll.cc_supported() == 1:
                        for name, argtypes in _SIGNATURES.items():
                            fn = getattr(cdll, name)
                            fn.argtypes, fn.restype = argtypes, None
                        cdll.cc_task_id.argtypes, cdll.cc_task_id.restype = [ctypes.c_char_p], _I
                        cdll.cc_pool_run.argtypes, cdll.cc_pool_run.restype = [_P, _I, _P, _I, _I, _I], _I
                        _state["ids"] = {name: cdll.cc_task_id(name.encode()) for name in _SIGNATURES}
                        found = cdll
            except (OSError, AttributeError, ImportError, ValueError):
                found = None
        _state["lib"] = found
        return found


def available():
    """Whether the C kernels can run here."""
    return lib() is not None


def takes(*arrays):
    """Whether the C kernels can run on these arrays: the library is there and every array is a
    float32 NumPy ndarray (the kernels' only type; CuPy and float64 keep the NumPy code)."""
    return available() and all(type(a).__name__ == "ndarray" and type(a).__module__ == "numpy"
                               and a.dtype.name == "float32" for a in arrays)


def run(chunks, parallel=True):
    """Run kernel calls on the C kernels' worker threads (``_cthreads.c``): ``chunks`` is a list of
    chunks, each a list of calls ``(kernel name, *int64 arguments)`` (pointers as
    ``array.ctypes.data``) that one thread runs in order; chunks go to whichever thread is free,
    the calling one included. ``parallel=False`` runs them all on the calling thread (one call).
    The arrays the pointers come from must stay alive until it returns (the caller holds them)."""
    import numpy as np

    from ._parallel import num_threads

    ids = _state["ids"]
    rows = [(ids[name],) + tuple(args) for chunk in chunks for name, *args in chunk]
    if not rows:                                                  # e.g. an empty batch: nothing to run
        return
    width = max(len(r) for r in rows)
    table = np.array([r + (0,) * (width - len(r)) for r in rows], dtype=np.int64)  # (calls, width)
    bounds = np.cumsum([0] + [len(c) for c in chunks], dtype=np.int64)
    threads = num_threads() if parallel else 1
    lib().cc_pool_run(table.ctypes.data, width, bounds.ctypes.data, len(chunks), threads, SPIN_US)


__all__ = ["lib", "available", "takes", "run", "SPIN_US"]
