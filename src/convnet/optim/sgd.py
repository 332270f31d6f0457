"""Stochastic gradient descent with (Nesterov) momentum, PyTorch's formulation."""
from __future__ import annotations

from .optimizer import Optimizer, _check_hyper


class SGD(Optimizer):
    r"""Stochastic gradient descent, optionally with momentum and weight decay.

    .. math::

        g_t &= \nabla_\theta L + \lambda \theta_{t-1} \\
        b_t &= \mu b_{t-1} + (1 - \tau) g_t \quad (b_1 = g_1) \\
        \theta_t &= \theta_{t-1} - \eta \, (g_t + \mu b_t \text{ if nesterov else } b_t)

    Args:
        params: parameters or parameter groups.
        lr: learning rate :math:`\eta` (default 1e-3).
        momentum: :math:`\mu` (default 0). The notes' "velocity" form: v = mu v - lr g is
            the same update with v = -lr b.
        dampening: :math:`\tau` (default 0).
        weight_decay: L2 penalty :math:`\lambda` added to the gradient (default 0).
        nesterov: Nesterov momentum (look-ahead gradient). Needs momentum > 0, dampening 0.
        maximize: ascend instead of descend.

    State per parameter: ``momentum_buffer`` (when momentum != 0).

    Example:
        >>> opt = SGD(model.parameters(), lr=0.1, momentum=0.9)  # doctest: +SKIP
        >>> opt.zero_grad(); loss.backward(); opt.step()         # doctest: +SKIP
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
                 maximize=False, foreach=None):
        _check_hyper("SGD", lr=lr, momentum=momentum, weight_decay=weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov, maximize=maximize))

    def _update(self, p, grad, group, state):
        lr, mu, wd = group["lr"], group["momentum"], group["weight_decay"]
        if group["maximize"]:
            grad = -grad
        if wd != 0:
            grad = grad + wd * p._data
        if mu != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = grad.copy()  # torch: the buffer starts at the gradient
            else:
                buf *= mu
                buf += (1 - group["dampening"]) * grad
            grad = grad + mu * buf if group["nesterov"] else buf
        p._data -= lr * grad
