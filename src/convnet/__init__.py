"""convnet: convolutional neural networks from first principles on NumPy.

    import convnet as cn
    import convnet.functional as F
    from convnet import nn, optim, data, models
"""
from __future__ import annotations

import importlib

from ._backend import (bool_, float16, float32, float64, get_rng_state, int32, int64,  # noqa: F401
                       manual_seed, set_rng_state, uint8)
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled  # noqa: F401
from .tensor import (Tensor, arange, as_tensor, empty, eye, from_numpy, full, full_like, linspace,  # noqa: F401
                     ones, ones_like, rand, randint, randn, tensor, zeros, zeros_like)
from .ops import (abs, amax, amin, argmax, argmin, cat, clamp, clip, exp, flatten, log,  # noqa: F401
                  matmul, max, maximum, mean, min, minimum, pad, permute, reshape, sqrt, squeeze,
                  stack, sum, transpose, unsqueeze, where)
from .ops import relu, sigmoid, softmax, log_softmax, tanh  # noqa: F401
from .ops import add, chunk, div, matmul as mm, mul, neg, pow, repeat, split, sub, var  # noqa: F401
from .ops import amax as _amax  # noqa: F401


def allclose(a, b, rtol=1e-5, atol=1e-8):
    import numpy as _np
    return bool(_np.allclose(_np.asarray(a), _np.asarray(b), rtol=rtol, atol=atol))


def is_tensor(x):
    return isinstance(x, Tensor)


def numel(x):
    return x.numel()

__version__ = "0.1.0"

_LAZY_MODULES = {"nn", "optim", "data", "models", "functional", "filters", "shapes", "vision", "cli"}
_LAZY_ATTRS = {
    "summary": ("convnet.summary", "summary"),
    "Trainer": ("convnet.train", "Trainer"),
    "fit": ("convnet.train", "fit"),
    "save": ("convnet.checkpoint", "save"),
    "load": ("convnet.checkpoint", "load"),
}


def __getattr__(name):
    # Heavy submodules load on first use so `import convnet` stays fast.
    if name in _LAZY_MODULES:
        return importlib.import_module(f"convnet.{name}")
    if name in _LAZY_ATTRS:
        mod, attr = _LAZY_ATTRS[name]
        return getattr(importlib.import_module(mod), attr)
    raise AttributeError(f"module 'convnet' has no attribute '{name}'")
