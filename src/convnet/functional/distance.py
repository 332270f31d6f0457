"""Norms and distances between vectors: ``normalize``, ``cosine_similarity``,
``pairwise_distance`` (``torch.nn.functional``'s definitions), composed from primitives."""
from __future__ import annotations

import math

from .. import ops
from .._backend import array_module
from ..errors import ShapeError
from ..ops._util import check_float, normalize_dim


def _norm(x, p, dim, keepdim=True):
    """``||x||_p`` along ``dim``; its gradient at an all-zero vector is 0 (torch's), never NaN."""
    if p == math.inf:
        return ops.amax(ops.abs(x), dim, keepdim)
    if p <= 0:
        raise ValueError(f"norm: p must be positive, got {p}")
    s = ops.sum(ops.abs(x) ** p if p != 2 else x * x, dim, keepdim)
    pos = s._data > 0
    safe = ops.where(pos, s, ops.full_like(s, 1.0))              # keep pow's backward finite at 0
    return ops.where(pos, safe ** (1.0 / p), ops.full_like(s, 0.0))


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """``x / max(||x||_p, eps)`` along ``dim``. Shape: any -> same.

    Backward:
        Composite: with n = max(``||x||_p``, eps) and y the output, dL/dx = (dL/dy - y * sum_dim(dL/dy * y)) / n
        for p = 2 (the projection of dL/dy off y, divided by the norm); dL/dy / eps where eps wins.
    """
    check_float("normalize", "input", input)
    if out is not None:
        raise ValueError("normalize: out= is not supported")
    dim = normalize_dim(dim, input.ndim)
    return input / ops.clip(_norm(input, p, dim), eps, None)


def _broadcast(fn, x1, x2):
    xp = array_module(x1._data)
    try:
        shape = tuple(xp.broadcast_shapes(x1.shape, x2.shape))
    except ValueError:
        raise ShapeError(f"{fn}: x1 {x1.shape} and x2 {x2.shape} do not broadcast") from None
    return (x1 if x1.shape == shape else ops.expand(x1, shape)), (x2 if x2.shape == shape else ops.expand(x2, shape))


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """``sum(x1 x2) / (max(||x1||, eps) max(||x2||, eps))`` along ``dim`` (x1, x2 broadcast).

    Shape: ``(*, D, *)`` and a broadcastable ``x2`` -> the broadcast shape without ``dim``.

    Backward:
        Composite: with u = x1 / n1, v = x2 / n2 (norms floored at eps), dL/dx1 = g (v - s u) / n1 and dL/dx2
        = g (u - s v) / n2, s the similarity (the ``- s u`` term vanishes where eps wins).
    """
    check_float("cosine_similarity", "x1", x1)
    check_float("cosine_similarity", "x2", x2)
    x1, x2 = _broadcast("cosine_similarity", x1, x2)
    dim = normalize_dim(dim, x1.ndim)
    n1 = ops.clip(_norm(x1, 2, dim), eps, None)
    n2 = ops.clip(_norm(x2, 2, dim), eps, None)
    return ops.sum((x1 / n1) * (x2 / n2), dim)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """``||x1 - x2 + eps||_p`` along the last dim (x1, x2 broadcast). ``(N, D) -> (N,)``.

    Backward:
        Composite (the p-norm of x1 - x2 + eps): for p = 2, dL/dx1 = g (x1 - x2 + eps) / d = -dL/dx2, d the
        distance.
    """
    check_float("pairwise_distance", "x1", x1)
    check_float("pairwise_distance", "x2", x2)
    x1, x2 = _broadcast("pairwise_distance", x1, x2)
    if x1.ndim == 0:
        raise ShapeError("pairwise_distance: inputs must have at least 1 dimension")
    return _norm(x1 - x2 + eps, p, x1.ndim - 1, keepdim)


__all__ = ["normalize", "cosine_similarity", "pairwise_distance"]
