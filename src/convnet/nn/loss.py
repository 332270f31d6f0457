"""Loss layers over ``convnet.functional``'s losses, PyTorch's names and arguments.

``reduction``: 'mean' (default), 'sum' or 'none'. The legacy ``size_average``/``reduce``
arguments are accepted and translated as PyTorch does.
"""
from __future__ import annotations

from .. import functional as F
from .module import Module
from ..errors import ShapeError

_REDUCTIONS = ("none", "mean", "sum")


def _legacy_reduction(size_average, reduce):
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if not reduce:
        return "none"
    return "mean" if size_average else "sum"


class _Loss(Module):
    def __init__(self, size_average=None, reduce=None, reduction="mean"):
        super().__init__()
        if size_average is not None or reduce is not None:
            reduction = _legacy_reduction(size_average, reduce)
        if reduction not in _REDUCTIONS:
            raise ShapeError(f"{type(self).__name__}: reduction must be 'none', 'mean' or 'sum', got {reduction!r}")
        self.reduction = reduction


class _WeightedLoss(_Loss):
    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)


class CrossEntropyLoss(_WeightedLoss):
    r"""Softmax cross-entropy between logits and class indices (or class probabilities).

    .. math:: \ell_n = -w_{y_n} \log \frac{\exp x_{n,y_n}}{\sum_c \exp x_{n,c}}

    Args:
        weight: optional ``(C,)`` rescaling weight per class.
        ignore_index: target value that contributes nothing (default -100).
        reduction: 'mean' (weighted mean over non-ignored targets), 'sum' or 'none'.
        label_smoothing: mix the target with the uniform distribution by this amount.

    Shape:
        input ``(N, C)`` or ``(N, C, d1, ...)``; target ``(N)`` / ``(N, d1, ...)`` int64 class
        indices, or probabilities shaped like input. Output: scalar, or ``(N, ...)`` for 'none'.

    Example:
        >>> import convnet as cn
        >>> loss = cn.nn.CrossEntropyLoss()(cn.zeros(2, 4), cn.tensor([0, 3]))
        >>> round(loss.item(), 4)  # log(4)
        1.3863
    """

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean",
                 label_smoothing=0.0):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, input, target):
        return F.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of log-probabilities (use after :class:`LogSoftmax`).

    Args: ``weight``, ``ignore_index``, ``reduction`` as :class:`CrossEntropyLoss`.

    Shape:
        input ``(N, C)`` or ``(N, C, d1, ...)`` log-probabilities; target int64 ``(N, d1, ...)``.
    """

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)


class MSELoss(_Loss):
    """Mean squared error ``(x - y)^2``, reduced. Shape: input and target the same shape."""

    def forward(self, input, target):
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """Mean absolute error ``|x - y|``, reduced. Shape: input and target the same shape."""

    def forward(self, input, target):
        return F.l1_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(_Loss):
    """``0.5 (x-y)^2 / beta`` where ``|x-y| < beta``, else ``|x-y| - 0.5 beta`` (Fast R-CNN's box loss)."""

    def __init__(self, size_average=None, reduce=None, reduction="mean", beta=1.0):
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input, target):
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    """``0.5 (x-y)^2`` where ``|x-y| < delta``, else ``delta (|x-y| - 0.5 delta)``."""

    def __init__(self, reduction="mean", delta=1.0):
        super().__init__(reduction=reduction)
        self.delta = delta

    def forward(self, input, target):
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class BCELoss(_WeightedLoss):
    """Binary cross-entropy of probabilities: ``-w [y log x + (1-y) log(1-x)]`` (log clamped at -100).

    Shape: input (probabilities in [0, 1]) and target the same shape.
    """

    def forward(self, input, target):
        return F.binary_cross_entropy(input, target, weight=self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid + binary cross-entropy in one numerically stable step.

    Args:
        weight: rescaling weight broadcast against the input.
        reduction: 'mean', 'sum' or 'none'.
        pos_weight: weight of positive examples, one per class (broadcast over the last dim).

    Shape: input (logits) and target the same shape.
    """

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean", pos_weight=None):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(input, target, self.weight, reduction=self.reduction,
                                                  pos_weight=self.pos_weight)


__all__ = ["CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "BCELoss",
           "BCEWithLogitsLoss"]
