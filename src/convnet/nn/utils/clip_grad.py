"""Gradient clipping, following ``torch.nn.utils.clip_grad`` step by step.

``clip_grad_norm_``: total norm ``N = || (||g_1||_p, ..., ||g_k||_p) ||_p`` over every gradient,
then every gradient is multiplied (in place) by ``min(max_norm / (N + 1e-6), 1)``.
``clip_grad_value_``: every gradient element is clamped to ``[-clip_value, clip_value]``.
"""
from __future__ import annotations

import math

import numpy as np

from ...autograd import no_grad
from ...ops.vector_norm import vector_norm
from ...tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm"]


def _grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The ``norm_type``-norm of the norms of ``tensors`` (a 0-d tensor; 0 when there are none)."""
    if isinstance(tensors, Tensor):
        tensors = [tensors]
    tensors = list(tensors)
    norm_type = float(norm_type)
    if not tensors:
        return Tensor(0.0)
    with no_grad():
        norms = [vector_norm(g.detach(), norm_type) for g in tensors]
        stacked = Tensor._wrap(np.stack([n._data for n in norms]), False)
        total = vector_norm(stacked, norm_type)
    if error_if_nonfinite and not math.isfinite(total.item()):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is "
                           "non-finite, so it cannot be clipped. To disable this error and scale the "
                           "gradients by the non-finite norm anyway, set `error_if_nonfinite=False`")
    return total


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Scale the gradients of ``parameters`` in place so that their total norm is at most
    ``max_norm``; returns the total norm before clipping (a 0-d tensor).

    Args:
        parameters: a Tensor or an iterable of Tensors whose ``.grad`` is clipped.
        max_norm: the largest allowed total norm.
        norm_type: the p of the p-norm (``inf`` for the max-norm).
        error_if_nonfinite: raise RuntimeError when the total norm is nan or inf.
    """
    grads = _grads(parameters)
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    if not grads:
        return total
    with no_grad():
        coef = np.float32(max_norm) / (total._data + np.float32(1e-6)).astype(total._data.dtype)
        coef = np.minimum(coef, 1.0).astype(total._data.dtype)
        for g in grads:
            g.mul_(Tensor._wrap(coef.astype(g._data.dtype), False))
    return total


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient element of ``parameters`` to ``[-clip_value, clip_value]`` in place."""
    clip_value = float(clip_value)
    with no_grad():
        for g in _grads(parameters):
            g.clamp_(-clip_value, clip_value)
