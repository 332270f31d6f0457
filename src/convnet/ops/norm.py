"""Normalization primitives: forward and backward side by side.

* :class:`Normalize` -- ``(x - mean) / sqrt(var + eps) * weight + bias`` over a set of axes.
  Batch norm (axes N and spatial), layer norm (trailing axes) and instance norm (spatial axes)
  are all this one primitive with different axes; group norm reshapes and reuses it.
* :class:`WindowSum1d` -- a zero-padded weighted window sum (1-D correlation) along one axis.
  Local response normalization sums squares over neighbouring channels with it, and local
  contrast normalization runs a separable Gaussian through it twice.
"""
from __future__ import annotations

from .._backend import array_module
from ..autograd import Function


def sum_over(a, axes, b=None):
    """``(a * b).sum(axis=axes, keepdims=True)`` (``b`` optional) as one einsum, e.g. 'nchw,nchw->c':
    ~2x faster than ``.sum(axis=(0, 2, 3))`` and no ``a * b`` temporary."""
    xp = array_module(a)
    letters = "abcdefghijklmnopqrstuvwxyz"[:a.ndim]
    kept = "".join(c for i, c in enumerate(letters) if i not in axes)
    spec = f"{letters}->{kept}" if b is None else f"{letters},{letters}->{kept}"
    r = xp.einsum(spec, a) if b is None else xp.einsum(spec, a, b)
    return r.reshape(tuple(1 if i in axes else n for i, n in enumerate(a.shape)))  # keepdims shape


def _sum_to(a, shape, b=None):
    """``unbroadcast(a * b, shape)`` via :func:`sum_over`: sum the axes ``shape`` broadcast over."""
    lead = a.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1 and a.shape[i + lead] != 1)
    return sum_over(a, axes, b).reshape(shape)


class Normalize(Function):
    """``y = (x - mean) * inv_std * weight + bias`` with statistics over ``axes``.

    Args (forward):
        x: the input array.
        *affine: nothing, or ``(weight, bias)`` arrays that broadcast against ``x``.
        axes: tuple of the axes the statistics run over.
        mean, var: statistics with keepdims shape (broadcasting against ``x``), biased variance.
        batch_stats: True when ``mean``/``var`` were computed from ``x`` itself (training batch
            norm, layer/group/instance norm) so the gradient flows through them too; False
            when they are constants (batch norm in eval mode).
        eps: added to the variance.
    """

    def forward(self, x, *affine, axes=(), mean=None, var=None, batch_stats=True, eps=1e-5):
        xp = array_module(x)
        inv_std = (1.0 / xp.sqrt(var + eps)).astype(x.dtype, copy=False)
        xhat = x - mean.astype(x.dtype, copy=False)  # fresh temporary: scaled in place
        xhat *= inv_std
        self.xhat, self.inv_std, self.axes, self.batch_stats = xhat, inv_std, axes, batch_stats
        if not affine:
            self.weight = None
            return xhat
        weight, bias = affine
        self.weight, self.wshape, self.bshape = weight, weight.shape, bias.shape
        y = xhat * weight
        y += bias
        return y

    def backward(self, g):
        xp = array_module(g)
        xhat, inv_std, axes = self.xhat, self.inv_std, self.axes
        w = self.weight
        if w is not None and all(i < g.ndim - w.ndim or w.shape[i - g.ndim + w.ndim] == 1 for i in axes):
            return self._backward_per_channel(xp, g)  # batch / instance norm: weight constant over axes
        gw = gb = None
        if w is not None:
            if self.needs_input_grad[1]:  # d weight = sum over the broadcast axes of g * xhat
                gw = _sum_to(g, self.wshape, xhat)
            if self.needs_input_grad[2]:  # d bias = sum of g
                gb = _sum_to(g, self.bshape)
            g = g * w  # gradient w.r.t. xhat
        gx = None
        if self.needs_input_grad[0]:
            if self.batch_stats:
                # fused batch-norm backward: dx = inv_std/M * (M g - sum g - xhat sum(g xhat))
                M = 1
                for a in axes:
                    M *= g.shape[a]
                mean_g = sum_over(g, axes) / M
                mean_gx = sum_over(g, axes, xhat) / M
                gx = xhat * mean_gx.astype(g.dtype, copy=False)  # fresh temporary, updated in place
                xp.subtract(g, gx, out=gx)
                gx -= mean_g.astype(g.dtype, copy=False)
                gx *= inv_std
            else:  # constant statistics: an affine map, dx = g * inv_std
                gx = g * inv_std
        if w is None:
            return gx
        return gx, gw, gb

    def _backward_per_channel(self, xp, g):
        """The affine backward when ``weight`` is constant over ``axes``: the sums of g and g*xhat
        over ``axes`` serve both d weight / d bias and dx, and ``weight`` folds into per-channel
        coefficients, dx = c (g - mean g - xhat mean(g xhat)) with c = weight * inv_std."""
        xhat, inv_std, axes, w = self.xhat, self.inv_std, self.axes, self.weight
        s_g, s_gx = sum_over(g, axes), sum_over(g, axes, xhat)  # keepdims shape
        gw = _sum_to(s_gx, self.wshape) if self.needs_input_grad[1] else None
        gb = _sum_to(s_g, self.bshape) if self.needs_input_grad[2] else None
        gx = None
        if self.needs_input_grad[0]:
            c = (w * inv_std).astype(g.dtype, copy=False)
            gx = g * c
            if self.batch_stats:
                M = g.size // max(1, s_g.size)
                t = xhat * (c * s_gx / M).astype(g.dtype, copy=False)  # fresh temporary
                t += (c * s_g / M).astype(g.dtype, copy=False)
                gx -= t
        return gx, gw, gb


def _window(a, axis, weights, before, after):
    """sum_t weights[t] * a_padded[i + t] along ``axis`` (zero padding ``before``/``after``)."""
    xp = array_module(a)
    pads = [(0, 0)] * a.ndim
    pads[axis] = (before, after)
    ap = xp.pad(a, pads) if before or after else a
    n_out = ap.shape[axis] - len(weights) + 1
    out = None
    for t, w in enumerate(weights):  # a loop over the window offsets only
        sl = [slice(None)] * a.ndim
        sl[axis] = slice(t, t + n_out)
        term = ap[tuple(sl)] if w == 1 else ap[tuple(sl)] * a.dtype.type(w)
        out = term.copy() if out is None else out + term
    return out


class WindowSum1d(Function):
    """Weighted window sum along one axis with zero padding (a 1-D cross-correlation).

    ``out[i] = sum_t weights[t] * x[i + t - before]`` (outside ``x`` reads as 0), so with
    ``before + after = len(weights) - 1`` the length along ``axis`` is preserved. Needs
    ``before, after < len(weights)``.
    """

    def forward(self, x, axis=1, weights=(1.0,), before=0, after=0):
        self.axis, self.weights, self.before, self.after = axis, tuple(weights), before, after
        return _window(x, axis, self.weights, before, after)

    def backward(self, g):
        # the adjoint of a correlation is the correlation with the flipped window ("full" padding)
        k = len(self.weights)
        return _window(g, self.axis, self.weights[::-1], k - 1 - self.before, k - 1 - self.after)
