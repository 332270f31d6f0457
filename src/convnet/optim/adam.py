"""Adam and AdamW (decoupled weight decay), PyTorch's formulation including AMSGrad."""
from __future__ import annotations

from .._backend import array_module
from ._moments import adam_moments, check_betas
from .optimizer import Optimizer, _check_hyper


class Adam(Optimizer):
    r"""Adam: per-parameter step sizes from bias-corrected first and second moment estimates.

    .. math::

        m_t &= \beta_1 m_{t-1} + (1-\beta_1) g_t, \qquad
        v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2 \\
        \theta_t &= \theta_{t-1} - \frac{\eta}{1-\beta_1^t} \,
                   \frac{m_t}{\sqrt{v_t}/\sqrt{1-\beta_2^t} + \epsilon}

    With ``amsgrad`` the denominator uses :math:`\max_{s \le t} v_s`.

    Args:
        params: parameters or parameter groups.
        lr: :math:`\eta` (default 1e-3).
        betas: :math:`(\beta_1, \beta_2)` (default (0.9, 0.999)).
        eps: :math:`\epsilon` (default 1e-8).
        weight_decay: L2 penalty added to the gradient (default 0).
        amsgrad: use the running maximum of :math:`v_t`.
        maximize: ascend instead of descend.
        decoupled_weight_decay: shrink the weights directly (AdamW) instead of through the gradient.

    State per parameter: ``step``, ``exp_avg``, ``exp_avg_sq`` (and ``max_exp_avg_sq``).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
                 maximize=False, decoupled_weight_decay=False, foreach=None):
        _check_hyper(type(self).__name__, lr=lr, eps=eps, weight_decay=weight_decay)
        betas = check_betas(type(self).__name__, betas)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize,
                                      decoupled_weight_decay=decoupled_weight_decay))

    def _update(self, p, grad, group, state):
        xp = array_module(p._data)
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        new = not state
        grad, step, m, v = adam_moments(p, grad, group, state)
        if new and group["amsgrad"]:
            state["max_exp_avg_sq"] = xp.zeros_like(p._data)
        step_size = lr / (1 - beta1 ** step)
        bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
        if group["amsgrad"]:
            vmax = state["max_exp_avg_sq"]
            xp.maximum(vmax, v, out=vmax)
            denom = xp.sqrt(vmax) / bias_correction2_sqrt + eps
        else:
            denom = xp.sqrt(v) / bias_correction2_sqrt + eps
        p._data -= step_size * (m / denom)


class AdamW(Adam):
    r"""Adam with decoupled weight decay: :math:`\theta \leftarrow \theta (1 - \eta\lambda)` before the
    Adam step (Loshchilov & Hutter). ``weight_decay`` defaults to 1e-2."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False, foreach=None):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                         maximize=maximize, decoupled_weight_decay=True)
