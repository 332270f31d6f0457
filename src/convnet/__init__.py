"""convnet: convolutional neural networks from first principles on NumPy.

    import convnet as cn
    import convnet.functional as F
    from convnet import nn, optim, data, models
"""
from __future__ import annotations

import importlib

from ._backend import Generator, get_rng_state, manual_seed, set_rng_state  # noqa: F401
from ._dtypes import (bool_, dtype, float16, float32, float64, get_default_dtype, int8, int16,  # noqa: F401
                      int32, int64, set_default_dtype, uint8)
from .device import device  # noqa: F401
from . import autograd  # noqa: F401
from .autograd import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled  # noqa: F401
from .tensor import (Tensor, arange, as_tensor, empty, empty_like, eye, from_numpy, full, full_like,  # noqa: F401
                     linspace, ones, ones_like, rand, rand_like, randint, randint_like, randn, randn_like, randperm,
                     tensor, zeros, zeros_like)
from .ops import (abs, amax, amin, argmax, argmin, cat, clamp, clip, exp, flatten, log,  # noqa: F401
                  matmul, maximum, mean, minimum, pad, reshape, sqrt, squeeze,
                  stack, sum, unsqueeze, where)
from .ops.sorting import sort, topk, unique  # noqa: F401
from .ops.vector_norm import vector_norm  # noqa: F401
from .ops.indexing import (count_nonzero, gather, index_select, masked_select, nonzero, scatter,  # noqa: F401
                           scatter_add)
from .ops.scan import cumprod, cumsum, logsumexp, prod  # noqa: F401
from .ops.rearrange import flip, roll, unbind  # noqa: F401
from .ops.matmul import bmm, dot, outer  # noqa: F401
from .ops.einsum import einsum  # noqa: F401
from .summary import summary  # noqa: F401  (eager: importing convnet.summary would shadow a lazy cn.summary)
from .ops import relu, sigmoid, softmax, log_softmax, tanh  # noqa: F401
from .ops import add, chunk, div, matmul as mm, mul, neg, pow, repeat, split, sub  # noqa: F401
from .ops import amax as _amax  # noqa: F401


def allclose(a, b, rtol=1e-5, atol=1e-8):
    import builtins
    import numpy as _np
    return builtins.bool(_np.allclose(_np.asarray(a), _np.asarray(b), rtol=rtol, atol=atol))


# torch's dtype aliases
float = float32  # noqa: A001
double = float64
half = float16
long = int64
int = int32  # noqa: A001
short = int16
bool = bool_  # noqa: A001


def max(input, dim=None, keepdim=False):  # noqa: A001
    """``max(x)``: largest value; ``max(x, dim)``: ``(values, indices)``; ``max(a, b)``: elementwise."""
    return input.max(dim, keepdim)


def min(input, dim=None, keepdim=False):  # noqa: A001
    return input.min(dim, keepdim)


def all(input, dim=None, keepdim=False):  # noqa: A001
    return input.all(dim, keepdim)


def any(input, dim=None, keepdim=False):  # noqa: A001
    return input.any(dim, keepdim)


def equal(input, other):
    """True when both tensors have the same shape and the same values (``torch.equal``)."""
    return input.equal(other)


def transpose(input, dim0, dim1):
    return input.transpose(dim0, dim1)


def permute(input, dims):
    return input.permute(dims)


def t(input):
    return input.t()


def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    return input.norm(p, dim, keepdim, dtype)


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return input.std(dim, unbiased, keepdim, correction=correction)


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):  # noqa: F811
    return input.var(dim, unbiased, keepdim, correction=correction)


def is_tensor(x):
    return isinstance(x, Tensor)


def numel(x):
    return x.numel()

__version__ = "0.1.0"

_LAZY_MODULES = {"nn", "optim", "data", "models", "functional", "filters", "shapes", "vision", "cli",
                 "checkpoint", "utils", "cuda", "accelerator", "backends", "transfer", "onnx"}
_LAZY_ATTRS = {
    "Trainer": ("convnet.train", "Trainer"),
    "fit": ("convnet.train", "fit"),
    "save": ("convnet.checkpoint", "save"),
    "load": ("convnet.checkpoint", "load"),
    "freeze": ("convnet.transfer", "freeze"),
    "unfreeze": ("convnet.transfer", "unfreeze"),
    "replace_head": ("convnet.transfer", "replace_head"),
    "extract_features": ("convnet.transfer", "extract_features"),
}


def __getattr__(name):
    # Heavy submodules load on first use so `import convnet` stays fast.
    if name in _LAZY_MODULES:
        return importlib.import_module(f"convnet.{name}")
    if name in _LAZY_ATTRS:
        mod, attr = _LAZY_ATTRS[name]
        return getattr(importlib.import_module(mod), attr)
    raise AttributeError(f"module 'convnet' has no attribute '{name}'")
