"""RMSprop (Hinton's lecture 6e), PyTorch's formulation with centering and momentum."""
from __future__ import annotations

from .._backend import array_module
from .optimizer import Optimizer, _check_hyper, _lerp_


class RMSprop(Optimizer):
    r"""Divide the gradient by a running root-mean-square of recent gradients.

    .. math::

        v_t &= \alpha v_{t-1} + (1-\alpha) g_t^2 \\
        \bar g_t &= \alpha \bar g_{t-1} + (1-\alpha) g_t \quad\text{(centered only)} \\
        d_t &= \sqrt{v_t - \bar g_t^2} + \epsilon \quad\text{(or } \sqrt{v_t} + \epsilon) \\
        b_t &= \mu b_{t-1} + g_t / d_t, \qquad \theta_t = \theta_{t-1} - \eta b_t
        \quad\text{(} \theta_t = \theta_{t-1} - \eta g_t / d_t \text{ without momentum)}

    Args:
        params: parameters or parameter groups.
        lr: :math:`\eta` (default 1e-2).
        alpha: smoothing constant :math:`\alpha` (default 0.99).
        eps: :math:`\epsilon` (default 1e-8).
        weight_decay: L2 penalty added to the gradient (default 0).
        momentum: :math:`\mu` (default 0).
        centered: normalise by the estimated variance instead of the raw second moment.
        maximize: ascend instead of descend.

    State per parameter: ``step``, ``square_avg`` (+ ``momentum_buffer``, ``grad_avg``).
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False, *,
                 maximize=False, foreach=None):
        _check_hyper("RMSprop", lr=lr, eps=eps, momentum=momentum, weight_decay=weight_decay, alpha=alpha)
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                                      centered=centered, maximize=maximize))

    def _update(self, p, grad, group, state):
        xp = array_module(p._data)
        lr, alpha, eps, wd, mu = group["lr"], group["alpha"], group["eps"], group["weight_decay"], group["momentum"]
        if not state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(p._data)
            if mu > 0:
                state["momentum_buffer"] = xp.zeros_like(p._data)
            if group["centered"]:
                state["grad_avg"] = xp.zeros_like(p._data)
        if group["maximize"]:
            grad = -grad
        state["step"] += 1
        if wd != 0:
            grad = grad + wd * p._data
        v = state["square_avg"]
        v *= alpha
        v += (1 - alpha) * grad * grad
        if group["centered"]:
            g_avg = _lerp_(state["grad_avg"], grad, 1 - alpha)
            avg = xp.sqrt(v - g_avg * g_avg) + eps
        else:
            avg = xp.sqrt(v) + eps
        if mu > 0:
            buf = state["momentum_buffer"]
            buf *= mu
            buf += grad / avg
            p._data -= lr * buf
        else:
            p._data -= lr * (grad / avg)
