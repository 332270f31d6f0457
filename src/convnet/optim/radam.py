"""RAdam (Liu et al. 2020): Adam with a rectified variance warm-up, PyTorch's formulation."""
from __future__ import annotations

from .._backend import array_module
from ._moments import adam_moments, check_betas
from .optimizer import Optimizer, _check_hyper


class RAdam(Optimizer):
    r"""Adam that takes plain momentum steps until the variance estimate is trustworthy.

    .. math::

        \rho_\infty &= \frac{2}{1-\beta_2} - 1, \qquad
        \rho_t = \rho_\infty - \frac{2 t \beta_2^t}{1-\beta_2^t} \\
        \hat m_t &= m_t / (1-\beta_1^t) \\
        \theta_t &= \theta_{t-1} - \eta \, \hat m_t \, r_t \, \frac{\sqrt{1-\beta_2^t}}{\sqrt{v_t} + \epsilon}
        \quad\text{if } \rho_t > 5, \text{ else } \theta_{t-1} - \eta \hat m_t \\
        r_t &= \sqrt{\frac{(\rho_t-4)(\rho_t-2)\rho_\infty}{(\rho_\infty-4)(\rho_\infty-2)\rho_t}}

    with :math:`m_t, v_t` Adam's moment estimates.

    Args:
        params: parameters or parameter groups.
        lr: :math:`\eta` (default 1e-3).
        betas: :math:`(\beta_1, \beta_2)` (default (0.9, 0.999)).
        eps: :math:`\epsilon` (default 1e-8).
        weight_decay: L2 penalty (default 0).
        decoupled_weight_decay: shrink the weights directly (RAdamW) instead of through the gradient.
        maximize: ascend instead of descend.

    State per parameter: ``step``, ``exp_avg``, ``exp_avg_sq``.

    Example:
        >>> opt = RAdam(model.parameters())  # doctest: +SKIP
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False):
        _check_hyper("RAdam", lr=lr, eps=eps, weight_decay=weight_decay)
        betas = check_betas("RAdam", betas)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      decoupled_weight_decay=decoupled_weight_decay, maximize=maximize))

    def _update(self, p, grad, group, state):
        xp = array_module(p._data)
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        grad, step, m, v = adam_moments(p, grad, group, state)
        bias_correction2 = 1 - beta2 ** step
        m_hat = m / (1 - beta1 ** step)
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * beta2 ** step / bias_correction2
        if rho_t > 5.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            p._data -= m_hat * lr * (bias_correction2 ** 0.5 / (xp.sqrt(v) + eps)) * rect
        else:
            p._data -= m_hat * lr
