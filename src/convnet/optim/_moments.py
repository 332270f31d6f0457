"""What Adam, AdamW, NAdam and RAdam share: the betas check and one step of the moment estimates.

Each optimizer's own file keeps only what makes it different (the bias correction, the
look-ahead, the rectification); the moment updates below are written once:

    g <- -g if maximize;  weight decay (coupled: g + wd * theta, decoupled: theta * (1 - lr * wd))
    m <- beta1 * m + (1 - beta1) * g
    v <- beta2 * v + (1 - beta2) * g^2
"""
from __future__ import annotations

from .._backend import array_module
from .optimizer import _lerp_


def check_betas(name, betas):
    """``betas`` must be two numbers in [0, 1); the error names the optimizer and the index."""
    for i, b in enumerate(betas):
        if not 0.0 <= b < 1.0:
            raise ValueError(f"{name}: invalid beta parameter at index {i}: {b} (must be in [0, 1))")
    return tuple(betas)


def adam_moments(p, grad, group, state, **extra_state):
    """Advance ``state`` by one step (creating it on first use, with ``extra_state`` entries added).

    Returns ``(grad, step, m, v)``: the gradient after maximize and coupled weight decay, the new
    step count, and the updated first and second moment arrays (updated in place in ``state``).
    Decoupled weight decay has already been applied to ``p`` when this returns.
    """
    xp = array_module(p._data)
    (beta1, beta2), lr, wd = group["betas"], group["lr"], group["weight_decay"]
    if not state:
        state["step"] = 0
        state.update(extra_state)
        state["exp_avg"] = xp.zeros_like(p._data)
        state["exp_avg_sq"] = xp.zeros_like(p._data)
    if group["maximize"]:
        grad = -grad
    state["step"] += 1
    if wd != 0:
        if group["decoupled_weight_decay"]:
            p._data *= 1 - lr * wd
        else:
            grad = grad + wd * p._data
    m, v = state["exp_avg"], state["exp_avg_sq"]
    _lerp_(m, grad, 1 - beta1)
    v *= beta2
    v += (1 - beta2) * grad * grad
    return grad, state["step"], m, v
