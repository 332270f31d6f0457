"""NAdam (Dozat 2016): Adam with Nesterov momentum and a momentum warm-up, PyTorch's formulation."""
from __future__ import annotations

from .._backend import array_module
from ._moments import adam_moments, check_betas
from .optimizer import Optimizer, _check_hyper


class NAdam(Optimizer):
    r"""Adam whose first-moment step looks ahead by one momentum step.

    .. math::

        \mu_t &= \beta_1 \big(1 - \tfrac12 \, 0.96^{t \psi}\big), \qquad
        \Pi_t = \textstyle\prod_{s \le t} \mu_s \\
        m_t &= \beta_1 m_{t-1} + (1-\beta_1) g_t, \qquad v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2 \\
        \theta_t &= \theta_{t-1} - \eta \left( \frac{(1-\mu_t)\, g_t}{1-\Pi_t}
                    + \frac{\mu_{t+1}\, m_t}{1 - \Pi_t \mu_{t+1}} \right)
                    \Big/ \left(\sqrt{v_t / (1-\beta_2^t)} + \epsilon\right)

    Args:
        params: parameters or parameter groups.
        lr: :math:`\eta` (default 2e-3).
        betas: :math:`(\beta_1, \beta_2)` (default (0.9, 0.999)).
        eps: :math:`\epsilon` (default 1e-8).
        weight_decay: L2 penalty (default 0).
        momentum_decay: :math:`\psi` (default 4e-3).
        decoupled_weight_decay: shrink the weights directly (NAdamW) instead of through the gradient.
        maximize: ascend instead of descend.

    State per parameter: ``step``, ``mu_product`` (:math:`\Pi_t`), ``exp_avg``, ``exp_avg_sq``.

    Example:
        >>> opt = NAdam(model.parameters())  # doctest: +SKIP
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False):
        _check_hyper("NAdam", lr=lr, eps=eps, weight_decay=weight_decay, momentum_decay=momentum_decay)
        betas = check_betas("NAdam", betas)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      momentum_decay=momentum_decay,
                                      decoupled_weight_decay=decoupled_weight_decay, maximize=maximize))

    def _update(self, p, grad, group, state):
        xp = array_module(p._data)
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        grad, step, m, v = adam_moments(p, grad, group, state, mu_product=1.0)
        psi = group["momentum_decay"]
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * psi))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * psi))
        mu_product = state["mu_product"] = float(state["mu_product"]) * mu
        denom = xp.sqrt(v / (1 - beta2 ** step)) + eps
        p._data += (-lr * (1.0 - mu) / (1.0 - mu_product)) * (grad / denom)
        p._data += (-lr * mu_next / (1.0 - mu_product * mu_next)) * (m / denom)
