"""Loss primitives with fused backward passes; they return the per-element (unreduced) loss.

Class axis is 1: ``logits``/``log_probs`` are ``(N, C, d1, ...)`` and class-index targets
``(N, d1, ...)`` (integer arrays, passed as parameters, never differentiated). Ignored targets
(``target == ignore_index``) contribute zero loss and zero gradient. The reduction ('mean',
'sum') is done by the functional wrappers with the ``sum`` primitive.
"""
from __future__ import annotations

from .._backend import array_module
from ..autograd import Function


def _gather_target(a, target):
    """``a[n, target[n, ...], ...]`` -> shape of ``target`` (class axis 1)."""
    xp = array_module(a)
    return xp.take_along_axis(a, xp.expand_dims(target, 1), axis=1).squeeze(1)


def _class_shape(ndim):
    """Shape tail that broadcasts a (C,) vector along axis 1 of an (N, C, d1, ...) array."""
    return (-1,) + (1,) * (ndim - 2)


class CrossEntropy(Function):
    """Softmax cross-entropy against class indices, with optional class weights and label smoothing.

    Per element (``p = log_softmax(z)`` along the class axis, ``w_t`` the target's weight):
    ``l = (1 - eps) * w_t * (-p_t) + eps / C * sum_c w_c * (-p_c)`` (0 where ignored).

    Backward:
        dL/dz_c = g * (p_c * sum_k coef_k - coef_c), p = softmax(z), coef_c = (1 - eps) w_t [c = t] + eps/C
        w_c (masked where ignored): softmax minus the smoothed, weighted one-hot.
    """

    def forward(self, z, target=None, weight=None, mask=None, label_smoothing=0.0):
        xp = array_module(z)
        C = z.shape[1]
        shifted = z - z.max(axis=1, keepdims=True)
        logp = shifted - xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))  # stable log_softmax
        w_t = mask.astype(z.dtype) if weight is None else weight[target] * mask  # (N, d1, ...)
        loss = -_gather_target(logp, target) * w_t
        eps = label_smoothing
        if eps:
            w_all = (-logp).sum(axis=1) if weight is None else \
                (-logp * weight.reshape(_class_shape(z.ndim))).sum(axis=1)
            loss = (1 - eps) * loss + (eps / C) * w_all * mask
        self.softmax, self.target, self.weight, self.mask, self.w_t, self.eps = \
            xp.exp(logp), target, weight, mask, w_t, eps
        return loss.astype(z.dtype, copy=False)

    def backward(self, g):
        # d l / d z_c = p_c * sum_k coef_k - coef_c  (softmax minus the smoothed, weighted one-hot)
        xp = array_module(g)
        C, eps, p = self.softmax.shape[1], self.eps, self.softmax
        g_t = g * self.w_t * (1 - eps)                    # one-hot part's coefficient, (N, d1, ...)
        coef_sum = g_t
        if eps:
            wsum = C if self.weight is None else self.weight.sum()
            coef_sum = g_t + g * self.mask * (eps / C) * wsum
        grad = p * xp.expand_dims(coef_sum, 1)            # (N, C, d1, ...)
        if eps:
            gm = xp.expand_dims(g * self.mask * (eps / C), 1)
            grad -= gm if self.weight is None else gm * self.weight.reshape(_class_shape(p.ndim))
        idx = xp.expand_dims(self.target, 1)
        onehot = xp.take_along_axis(grad, idx, axis=1) - xp.expand_dims(g_t, 1)
        xp.put_along_axis(grad, idx, onehot, axis=1)
        return grad.astype(g.dtype, copy=False)


class NLLLoss(Function):
    """Negative log-likelihood: ``l = -w_t * input[n, t]`` (0 where ignored).

    Backward:
        dL/dinput[n, t_n] = -w_{t_n} g_n, zero elsewhere (a scatter).
    """

    def forward(self, logp, target=None, weight=None, mask=None):
        w_t = mask.astype(logp.dtype) if weight is None else weight[target] * mask
        self.shape, self.target, self.w_t = logp.shape, target, w_t
        return (-_gather_target(logp, target) * w_t).astype(logp.dtype, copy=False)

    def backward(self, g):  # scatter -w_t * g into the target's class slot
        xp = array_module(g)
        grad = xp.zeros(self.shape, dtype=g.dtype)
        xp.put_along_axis(grad, xp.expand_dims(self.target, 1), xp.expand_dims(-g * self.w_t, 1), axis=1)
        return grad


class BinaryCrossEntropy(Function):
    """``l = -w (t log x + (1 - t) log(1 - x))`` with each log clamped at -100, as torch.

    Backward:
        dL/dx = g w (x - t) / max(x (1 - x), 1e-12); dL/dt = g w (log(1 - x) - log x).
    """

    def forward(self, x, t, weight=None):
        xp = array_module(x)
        with xp.errstate(divide="ignore"):
            log_x = xp.maximum(xp.log(x), -100)
            log_1mx = xp.maximum(xp.log1p(-x), -100)
        loss = -(t * log_x + (1 - t) * log_1mx)
        if weight is not None:
            loss = loss * weight
        self.save_for_backward(x, t)
        self.weight = weight
        return loss.astype(x.dtype, copy=False)

    def backward(self, g):
        xp = array_module(g)
        x, t = self.saved_tensors
        if self.weight is not None:
            g = g * self.weight
        gx = gt = None
        if self.needs_input_grad[0]:  # dl/dx = (x - t) / (x (1 - x)), denominator floored at 1e-12
            gx = g * (x - t) / xp.maximum(x * (1 - x), 1e-12)
        if self.needs_input_grad[1]:  # dl/dt = -logit(x) = log(1 - x) - log(x)
            with xp.errstate(divide="ignore"):
                gt = g * (xp.log1p(-x) - xp.log(x))
        return (None if gx is None else gx.astype(x.dtype, copy=False),
                None if gt is None else gt.astype(x.dtype, copy=False))


class BCEWithLogits(Function):
    """``l = w ((1 - t) x + (1 + (pw - 1) t) softplus(-x))``: sigmoid + BCE without overflow.

    Backward:
        dL/dx = g w (l_w (sigmoid(x) - 1) + 1 - t), l_w = 1 + (pw - 1) t; dL/dt = g w (-x + (pw - 1)
        softplus(-x)).
    """

    def forward(self, x, t, weight=None, pos_weight=None):
        xp = array_module(x)
        sp = xp.maximum(-x, 0) + xp.log1p(xp.exp(-xp.abs(x)))  # softplus(-x) = -log sigmoid(x)
        lw = 1 if pos_weight is None else 1 + (pos_weight - 1) * t
        loss = (1 - t) * x + lw * sp
        if weight is not None:
            loss = loss * weight
        e = xp.exp(-xp.abs(x))
        sig = xp.where(x >= 0, 1 / (1 + e), e / (1 + e))
        self.x, self.t, self.sp, self.sig, self.lw = x, t, sp, sig, lw
        self.weight, self.pos_weight = weight, pos_weight
        return loss.astype(x.dtype, copy=False)

    def backward(self, g):
        if self.weight is not None:
            g = g * self.weight
        gx = gt = None
        if self.needs_input_grad[0]:  # dl/dx = lw * (sigmoid(x) - 1) + 1 - t  (= sigmoid(x) - t for pw = 1)
            gx = (g * (self.lw * (self.sig - 1) + 1 - self.t)).astype(self.x.dtype, copy=False)
        if self.needs_input_grad[1]:  # dl/dt = -x + (pw - 1) softplus(-x)
            d = -self.x if self.pos_weight is None else -self.x + (self.pos_weight - 1) * self.sp
            gt = (g * d).astype(self.x.dtype, copy=False)
        return gx, gt
