"""Loss functions with PyTorch's names, argument order and reductions (``torch.nn.functional``).

Cross-entropy, NLL and the binary cross-entropies use fused primitives from
:mod:`convnet.ops.loss` (per-element losses) and reduce them here; the regression losses are
composites of elementwise primitives. ``reduction``: ``'none'`` (per element), ``'sum'``
(``mse_loss(..., reduction='sum')`` is the notes' sum of squared errors) or ``'mean'``.
"""
from __future__ import annotations

import numpy as np

from .._backend import array_module
from ..ops import elementwise as _ew
from ..ops import movement as _mv
from ..ops import reduce as _red
from ..ops._util import as_tensor, check_float
from ..ops.activation import log_softmax
from ..ops.loss import BCEWithLogits, BinaryCrossEntropy, CrossEntropy, NLLLoss
from ..errors import ShapeError

__all__ = ["cross_entropy", "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
           "binary_cross_entropy", "binary_cross_entropy_with_logits"]

_REDUCTIONS = ("none", "mean", "sum")


def _reduction(fn, reduction, size_average=None, reduce=None):
    """Validate ``reduction``; the deprecated ``size_average``/``reduce`` flags override it (as torch)."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        return ("mean" if size_average else "sum") if reduce else "none"
    if reduction not in _REDUCTIONS:
        raise ShapeError(f"{fn}: argument 'reduction' must be 'none', 'mean' or 'sum', got {reduction!r}")
    return reduction


def _reduce(loss, reduction, denom=None):
    """'none' -> loss; 'sum' -> sum(loss); 'mean' -> sum(loss) / denom (the element count by default)."""
    if reduction == "none":
        return loss
    total = _red.sum(loss)
    if reduction == "sum":
        return total
    if denom is None:
        return _red.mean(loss) if loss.numel() else _ew.mul(total, float("nan"))
    denom = float(denom)
    return _ew.mul(total, float("nan")) if denom == 0 else total / denom


def _class_targets(fn, input, target, weight, ignore_index):
    """Validate class-index targets; returns (logits as (N, C, ...), safe target, mask, weight array, unbatched)."""
    C = input.shape[0 if input.ndim == 1 else 1]
    if target.dtype.kind not in "iu":
        raise TypeError(
            f"{fn}: argument 'target' must hold integer class indices (int64), got dtype {target.dtype}; "
            f"floating targets are class probabilities and need the input's shape {input.shape}, "
            f"got {target.shape}")
    unbatched = input.ndim == 1
    expected = () if unbatched else (input.shape[0],) + input.shape[2:]
    if target.shape != expected:
        raise ShapeError(f"{fn}: expected target of shape {expected} (input {input.shape} is (N, C, d1, ...) "
                         f"and target (N, d1, ...)), got {target.shape}")
    x = _mv.reshape(input, (1, C)) if unbatched else input
    t = target._data.astype(np.int64).reshape((1,) if unbatched else expected)
    xp = array_module(t)
    mask = t != ignore_index
    bad = mask & ((t < 0) | (t >= C))
    if bad.any():
        raise ShapeError(f"{fn}: target {int(t[bad].reshape(-1)[0])} is out of bounds for {C} classes")
    w = None
    if weight is not None:
        if weight.numel() != C or weight.ndim != 1:
            raise ShapeError(f"{fn}: argument 'weight' must be a 1D tensor with one weight per class "
                             f"({C}), got shape {weight.shape}")
        w = weight._data.astype(input.dtype, copy=False)
    return x, xp.where(mask, t, 0), mask, w, unbatched


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    """Softmax cross-entropy between logits and class indices or class probabilities.

    .. math:: \\ell_n = -w_{y_n} \\log \\frac{e^{x_{n,y_n}}}{\\sum_c e^{x_{n,c}}}

    Class-index targets: ``'mean'`` divides by the summed weight of the non-ignored targets.
    ``label_smoothing`` ``eps`` mixes in the uniform distribution exactly as torch:
    ``(1 - eps) * nll + eps / C * sum_c w_c (-log p_c)``. Probability targets (a float
    ``target`` of the input's shape): ``-sum_c w_c t_c log p_c``; ``'mean'`` divides by ``N * d1 * ...``.

    Args:
        input: logits ``(N, C)``, ``(N, C, d1, ...)`` or unbatched ``(C,)``.
        target: int class indices ``(N, d1, ...)`` (or ``()``), or float probabilities shaped like ``input``.
        weight: optional ``(C,)`` class weights.
        ignore_index: target value that contributes no loss and no gradient.
        reduction: 'none' | 'mean' | 'sum'.
        label_smoothing: in [0, 1].

    Shape:
        'none' -> ``(N, d1, ...)``; otherwise a scalar.

    Backward:
        Class-index targets: dL/dz = g * w_y * (softmax(z) - onehot(y)) per sample (softmax minus the weighted
        one-hot), g the upstream gradient, divided by the summed target weights for ``'mean'``; with label
        smoothing eps the one-hot becomes the coefficients coef_c = (1 - eps) w_y [c = y] + eps/C w_c and
        dL/dz_c = g * (p_c * sum_k coef_k - coef_c) (``convnet.ops.loss.CrossEntropy``). Probability targets:
        composite through log_softmax, dL/dz = g * (p * sum_c w_c t_c - w * t).

    Example:
        >>> import convnet as cn
        >>> cross_entropy(cn.zeros(2, 4), cn.tensor([1, 3])).item()  # log 4
        1.3862943649291992
    """
    fn = "cross_entropy"
    check_float(fn, "input", input)
    reduction = _reduction(fn, reduction, size_average, reduce)
    target = as_tensor(target)
    if input.ndim == 0:
        raise ShapeError(f"{fn}: input must have at least 1 dimension (C,) or (N, C, ...), got a scalar")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ShapeError(f"{fn}: argument 'label_smoothing' must be between 0.0 and 1.0, got {label_smoothing}")
    if target.shape == input.shape:
        return _soft_cross_entropy(fn, input, target, weight, ignore_index, reduction, label_smoothing)
    x, t, mask, w, unbatched = _class_targets(fn, input, target, weight, ignore_index)
    loss = CrossEntropy.apply(x, target=t, weight=w, mask=mask, label_smoothing=float(label_smoothing))
    if unbatched:
        loss = _mv.reshape(loss, ())
    denom = mask.sum() if w is None else (w[t] * mask).sum()
    return _reduce(loss, reduction, denom)


def _soft_cross_entropy(fn, input, target, weight, ignore_index, reduction, label_smoothing):
    """Cross-entropy against class probabilities: a composite of log_softmax, mul and sum."""
    if not target.is_floating_point():
        raise TypeError(f"{fn}: a target of the input's shape {input.shape} holds class probabilities and "
                        f"must be floating point, got dtype {target.dtype}")
    if ignore_index >= 0:
        raise ShapeError(f"{fn}: argument 'ignore_index' is not supported for probability (float) targets")
    cdim = 0 if input.ndim == 1 else 1
    C = input.shape[cdim]
    logp = log_softmax(input, cdim)
    if label_smoothing > 0:
        target = target * (1 - label_smoothing) + label_smoothing / C
    prod = logp * target
    if weight is not None:
        if weight.numel() != C or weight.ndim != 1:
            raise ShapeError(f"{fn}: argument 'weight' must be a 1D tensor with one weight per class "
                             f"({C}), got shape {weight.shape}")
        prod = prod * _mv.reshape(weight, (C,) + (1,) * (input.ndim - cdim - 1))
    if reduction == "none":
        return -_red.sum(prod, cdim)
    total = -_red.sum(prod)
    if reduction == "sum":
        return total
    n = input.numel() // max(C, 1)
    return total / float(n) if n else _ew.mul(total, float("nan"))


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
    """Negative log-likelihood of class indices given log-probabilities (use after ``log_softmax``).

    ``l_n = -w_{y_n} input[n, y_n]``; ``'mean'`` divides by the summed weight of non-ignored targets.

    Args:
        input: log-probabilities ``(N, C)``, ``(N, C, d1, ...)`` or ``(C,)``.
        target: int class indices ``(N, d1, ...)`` (or ``()``).
        weight: optional ``(C,)`` class weights.

    Shape:
        'none' -> ``(N, d1, ...)``; otherwise a scalar.

    Backward:
        dL/dinput[n, y_n] = -w_{y_n} * g_n (divided by the summed target weights for ``'mean'``), zero for
        every other class and for ignored targets: the upstream gradient scattered into the target's class
        slot (``convnet.ops.loss.NLLLoss``).

    Example:
        >>> import convnet as cn
        >>> nll_loss(cn.tensor([[-1.0, -2.0]]), cn.tensor([1])).item()
        2.0
    """
    fn = "nll_loss"
    check_float(fn, "input", input)
    reduction = _reduction(fn, reduction, size_average, reduce)
    target = as_tensor(target)
    if input.ndim == 0:
        raise ShapeError(f"{fn}: input must have at least 1 dimension (C,) or (N, C, ...), got a scalar")
    x, t, mask, w, unbatched = _class_targets(fn, input, target, weight, ignore_index)
    loss = NLLLoss.apply(x, target=t, weight=w, mask=mask)
    if unbatched:
        loss = _mv.reshape(loss, ())
    denom = mask.sum() if w is None else (w[t] * mask).sum()
    return _reduce(loss, reduction, denom)


def _pair(fn, input, target):
    check_float(fn, "input", input)
    target = as_tensor(target)
    check_float(fn, "target", target)
    try:
        np.broadcast_shapes(input.shape, target.shape)
    except ValueError:
        raise ShapeError(f"{fn}: target of shape {target.shape} does not broadcast with input of shape "
                         f"{input.shape}; pass tensors of the same shape") from None
    return target


def _elementwise_weight(fn, loss, input, weight, reduction, weighted_mean):
    """Per-sample ``weight`` of the input's shape (torch 2.13's optional argument)."""
    if weight is None:
        return _reduce(loss, reduction)
    if tuple(weight.shape) != input.shape:
        raise ShapeError(f"{fn}: Weights and input must have the same size: weight {weight.shape}, "
                         f"input {input.shape}")
    loss = loss * weight
    if reduction == "mean" and weighted_mean:
        return _red.sum(loss) / _red.sum(weight)
    return _reduce(loss, reduction)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean squared error ``(x - y)^2``; ``reduction='sum'`` is the sum of squared errors.

    With ``weight`` (input's shape), ``'mean'`` is ``sum(w (x - y)^2) / sum(w)``.

    Backward:
        Composite: dL/dx = 2 (x - y) * w * g, divided by the element count (or sum(w)) for ``'mean'``; dL/dy =
        -dL/dx.

    Example:
        >>> import convnet as cn
        >>> mse_loss(cn.tensor([1.0, 3.0]), cn.tensor([0.0, 0.0]), reduction='sum').item()
        10.0
    """
    fn = "mse_loss"
    target = _pair(fn, input, target)
    reduction = _reduction(fn, reduction, size_average, reduce)
    d = input - target
    return _elementwise_weight(fn, d * d, input, weight, reduction, True)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean absolute error ``|x - y|`` (gradient ``sign(x - y)``, 0 at 0).

    Backward:
        Composite: dL/dx = sign(x - y) * w * g (0 where x = y), divided by the element count for ``'mean'``;
        dL/dy = -dL/dx.

    Example:
        >>> import convnet as cn
        >>> l1_loss(cn.tensor([1.0, -3.0]), cn.tensor([0.0, 0.0])).item()
        2.0
    """
    fn = "l1_loss"
    target = _pair(fn, input, target)
    reduction = _reduction(fn, reduction, size_average, reduce)
    return _elementwise_weight(fn, _ew.abs(input - target), input, weight, reduction, True)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """``0.5 d^2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta`` (``d = x - y``; beta=0 is L1).

    Backward:
        Composite: with d = x - y, dL/dx = g * d / beta where ``|d| < beta``, else g * sign(d) (divided by the
        element count for ``'mean'``); dL/dy = -dL/dx.

    Example:
        >>> import convnet as cn
        >>> smooth_l1_loss(cn.tensor([0.5, 3.0]), cn.tensor([0.0, 0.0]), reduction='none').tolist()
        [0.125, 2.5]
    """
    fn = "smooth_l1_loss"
    target = _pair(fn, input, target)
    reduction = _reduction(fn, reduction, size_average, reduce)
    if beta < 0:
        raise ShapeError(f"{fn}: argument 'beta' must be non-negative, got {beta}")
    d = input - target
    ad = _ew.abs(d)
    if beta == 0:
        return _reduce(ad, reduction)
    loss = _ew.where(ad._data < beta, d * d * (0.5 / beta), ad - 0.5 * beta)
    return _reduce(loss, reduction)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """``0.5 d^2`` where ``|d| < delta``, else ``delta (|d| - 0.5 delta)``.

    With ``weight`` (input's shape), ``'mean'`` is ``mean(w * loss)`` (torch's convention).

    Backward:
        Composite: with d = x - y, dL/dx = g * d where ``|d| < delta``, else g * delta * sign(d) (times
        ``weight``, divided by the element count for ``'mean'``); dL/dy = -dL/dx.

    Example:
        >>> import convnet as cn
        >>> huber_loss(cn.tensor([0.5, 3.0]), cn.tensor([0.0, 0.0]), reduction='none', delta=2.0).tolist()
        [0.125, 4.0]
    """
    fn = "huber_loss"
    target = _pair(fn, input, target)
    reduction = _reduction(fn, reduction)
    if delta <= 0:
        raise ShapeError(f"{fn}: argument 'delta' must be positive, got {delta}")
    d = input - target
    ad = _ew.abs(d)
    loss = _ew.where(ad._data < delta, d * d * 0.5, (ad - 0.5 * delta) * delta)
    return _elementwise_weight(fn, loss, input, weight, reduction, False)


def _bce_checks(fn, input, target, weight, what_input):
    check_float(fn, "input", input)
    target = as_tensor(target)
    check_float(fn, "target", target)
    if target.shape != input.shape:
        raise ShapeError(f"{fn}: target size {target.shape} must be the same as input size {input.shape}")
    w = None
    if weight is not None:
        try:
            w = array_module(input._data).broadcast_to(weight._data, input.shape).astype(input.dtype, copy=False)
        except ValueError:
            raise ShapeError(f"{fn}: argument 'weight' of shape {weight.shape} does not broadcast to the "
                             f"{what_input} shape {input.shape}") from None
    return target, w


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """Binary cross-entropy between probabilities ``x`` in [0, 1] and targets ``y``.

    ``l = -w (y log x + (1 - y) log(1 - x))`` with each log clamped at -100 (torch).

    Backward:
        dL/dx = g * w * (x - y) / max(x (1 - x), 1e-12); dL/dy = g * w * (log(1 - x) - log x)
        (``convnet.ops.loss.BinaryCrossEntropy``).

    Example:
        >>> import convnet as cn
        >>> round(binary_cross_entropy(cn.tensor([0.5]), cn.tensor([1.0])).item(), 4)
        0.6931
    """
    fn = "binary_cross_entropy"
    reduction = _reduction(fn, reduction, size_average, reduce)
    target, w = _bce_checks(fn, input, target, weight, "input")
    x = input._data
    if ((x < 0) | (x > 1)).any():
        raise ShapeError(f"{fn}: all elements of input should be between 0 and 1 (probabilities; "
                         f"use binary_cross_entropy_with_logits for logits)")
    return _reduce(BinaryCrossEntropy.apply(input, target, weight=w), reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    """Sigmoid + binary cross-entropy in one stable step.

    ``l = w ((1 - y) x + (1 + (p - 1) y) log(1 + e^{-x}))`` with ``p = pos_weight``
    (broadcast along the last, class, dim), computed without overflow for large ``|x|``.

    Backward:
        dL/dx = g * w * (l_w (sigmoid(x) - 1) + 1 - y) with l_w = 1 + (p - 1) y, which is g * w * (sigmoid(x)
        - y) without ``pos_weight``; dL/dy = g * w * (-x + (p - 1) softplus(-x))
        (``convnet.ops.loss.BCEWithLogits``).

    Example:
        >>> import convnet as cn
        >>> round(binary_cross_entropy_with_logits(cn.tensor([0.0]), cn.tensor([1.0])).item(), 4)
        0.6931
    """
    fn = "binary_cross_entropy_with_logits"
    reduction = _reduction(fn, reduction, size_average, reduce)
    target, w = _bce_checks(fn, input, target, weight, "input")
    pw = None
    if pos_weight is not None:
        try:
            pw = array_module(input._data).broadcast_to(pos_weight._data, input.shape).astype(input.dtype, copy=False)
        except ValueError:
            raise ShapeError(f"{fn}: argument 'pos_weight' of shape {pos_weight.shape} does not broadcast to "
                             f"the input shape {input.shape} (one weight per class, last dim)") from None
    return _reduce(BCEWithLogits.apply(input, target, weight=w, pos_weight=pw), reduction)

