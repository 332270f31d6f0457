"""Adadelta (Zeiler 2012), PyTorch's formulation."""
from __future__ import annotations

from .._backend import array_module
from .optimizer import Optimizer, _check_hyper


class Adadelta(Optimizer):
    r"""Adadelta: step sizes from the ratio of running RMS of past updates to running RMS of gradients.

    .. math::

        v_t &= \rho v_{t-1} + (1-\rho) g_t^2 \\
        \Delta x_t &= \frac{\sqrt{u_{t-1} + \epsilon}}{\sqrt{v_t + \epsilon}} \, g_t \\
        u_t &= \rho u_{t-1} + (1-\rho) \Delta x_t^2, \qquad
        \theta_t = \theta_{t-1} - \eta \, \Delta x_t

    Args:
        params: parameters or parameter groups.
        lr: :math:`\eta`, a multiplier on the update (default 1.0).
        rho: decay :math:`\rho` of both running averages (default 0.9).
        eps: :math:`\epsilon` (default 1e-6).
        weight_decay: L2 penalty added to the gradient (default 0).
        maximize: ascend instead of descend.

    State per parameter: ``step``, ``square_avg`` (:math:`v`), ``acc_delta`` (:math:`u`).

    Example:
        >>> opt = Adadelta(model.parameters())  # doctest: +SKIP
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *, maximize=False):
        _check_hyper("Adadelta", lr=lr, eps=eps, weight_decay=weight_decay)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Adadelta: invalid rho value: {rho} (must be in [0, 1])")
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize))

    def _update(self, p, grad, group, state):
        xp = array_module(p._data)
        lr, rho, eps, wd = group["lr"], group["rho"], group["eps"], group["weight_decay"]
        if not state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(p._data)
            state["acc_delta"] = xp.zeros_like(p._data)
        if group["maximize"]:
            grad = -grad
        state["step"] += 1
        if wd != 0:
            grad = grad + wd * p._data
        v, u = state["square_avg"], state["acc_delta"]
        v *= rho
        v += (1 - rho) * grad * grad
        delta = xp.sqrt(u + eps) / xp.sqrt(v + eps) * grad
        u *= rho
        u += (1 - rho) * delta * delta
        p._data -= lr * delta
