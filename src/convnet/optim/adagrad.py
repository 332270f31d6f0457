"""Adagrad (Duchi et al. 2011), PyTorch's formulation with lr decay."""
from __future__ import annotations

from .._backend import array_module
from .optimizer import Optimizer, _check_hyper


class Adagrad(Optimizer):
    r"""Adagrad: divide each coordinate's step by the root of its summed squared gradients.

    .. math::

        \tilde\eta_t &= \eta / (1 + (t-1)\,\text{lr\_decay}) \\
        s_t &= s_{t-1} + g_t^2, \qquad
        \theta_t = \theta_{t-1} - \tilde\eta_t \, \frac{g_t}{\sqrt{s_t} + \epsilon}

    Args:
        params: parameters or parameter groups.
        lr: :math:`\eta` (default 1e-2).
        lr_decay: learning-rate decay per step (default 0).
        weight_decay: L2 penalty added to the gradient (default 0).
        initial_accumulator_value: starting value of :math:`s` (default 0).
        eps: :math:`\epsilon` (default 1e-10).
        maximize: ascend instead of descend.

    State per parameter: ``step``, ``sum`` (:math:`s`).

    Example:
        >>> opt = Adagrad(model.parameters(), lr=0.01)  # doctest: +SKIP
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
                 foreach=None, *, maximize=False):
        _check_hyper("Adagrad", lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                     initial_accumulator_value=initial_accumulator_value, eps=eps)
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, maximize=maximize))

    def _update(self, p, grad, group, state):
        xp = array_module(p._data)
        lr, eps, wd = group["lr"], group["eps"], group["weight_decay"]
        if not state:
            state["step"] = 0
            state["sum"] = xp.full_like(p._data, group["initial_accumulator_value"])
        if group["maximize"]:
            grad = -grad
        state["step"] += 1
        if wd != 0:
            grad = grad + wd * p._data
        clr = lr / (1 + (state["step"] - 1) * group["lr_decay"])
        s = state["sum"]
        s += grad * grad
        p._data -= clr * (grad / (xp.sqrt(s) + eps))
