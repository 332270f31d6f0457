"""Primitives with hand-written backward passes, one op family per file.

Layering: ``ops`` (this package) <- ``functional`` <- ``nn``. Nothing here imports upward.
"""
from ._util import raw, raw_index, unbroadcast  # noqa: F401
from .elementwise import (abs, add, cast, clamp, clip, compare, div, exp, log, maximum,  # noqa: F401
                          minimum, mul, neg, pow, sqrt, sub, where)
from .reduce import amax, amin, argmax, argmin, max, mean, min, sum, var  # noqa: F401
from .movement import (cat, chunk, concatenate, expand, repeat, split, flatten, getitem, pad, permute, reshape,  # noqa: F401
                       squeeze, stack, transpose, unsqueeze, view)
from .matmul import matmul  # noqa: F401
from .activation import leaky_relu, log_softmax, relu, sigmoid, softmax, softplus, tanh  # noqa: F401
from ..tensor import full_like  # noqa: F401,E402
