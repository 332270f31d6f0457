"""``kl_div``: the Kullback-Leibler divergence loss (``torch.nn.functional.kl_div``)."""
from __future__ import annotations

import warnings

from .. import ops
from ..errors import ShapeError
from ..ops._util import check_float


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    r"""Pointwise ``target * (log target - input)`` with ``input`` log-probabilities, as torch.

    .. math::
        \ell = y (\log y - x) \;(0 \text{ where } y = 0), \qquad
        \ell = e^{y} (y - x) \text{ if log\_target}

    Args:
        input: log-probabilities ``(N, *)``.
        target: probabilities (or log-probabilities with ``log_target=True``), same shape.
        reduction: ``'none'`` | ``'sum'`` | ``'batchmean'`` (sum / N: the true KL divergence per
            sample) | ``'mean'`` (sum / number of elements: torch's default, with its warning).

    Backward:
        Composite: dL/dinput = -g * target (g * -exp(target) with ``log_target``); dL/dtarget = g (log target
        + 1 - input) (g exp(target) (target + 1 - input) with ``log_target``), scaled by the reduction.
    """
    check_float("kl_div", "input", input)
    check_float("kl_div", "target", target)
    if size_average is not None or reduce is not None:
        reduction = "none" if reduce is False else ("mean" if size_average is not False else "sum")
    if reduction not in ("none", "sum", "mean", "batchmean"):
        raise ValueError(f"kl_div: reduction must be 'none', 'sum', 'mean' or 'batchmean', got {reduction!r}")
    if input.shape != target.shape:
        raise ShapeError(f"kl_div: input {input.shape} and target {target.shape} must have the same shape")
    if log_target:
        loss = ops.exp(target) * (target - input)
    else:
        pos = target._data > 0                                    # xlogy: 0 log 0 = 0
        safe = ops.where(pos, target, ops.full_like(target, 1.0))
        loss = target * (ops.where(pos, ops.log(safe), ops.full_like(target, 0.0)) - input)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return ops.sum(loss)
    if reduction == "batchmean":
        return ops.sum(loss) / (input.shape[0] if input.ndim else 1)
    warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the support size. "
                  "'batchmean' divides only by the batch size, and aligns with the KL div math definition.",
                  stacklevel=2)
    return ops.mean(loss)


__all__ = ["kl_div"]
