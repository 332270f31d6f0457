"""Max unpooling: the inverse of max pooling's routing (ZFNet's "switches").

Each input value goes to the position its max-pooling window took it from (``indices``, a flat
index ``h * W + w`` into its output plane, as ``max_pool2d(..., return_indices=True)`` gives);
every other output element is zero. The backward is a gather at the same positions.
"""
from __future__ import annotations

import math

from .._backend import array_module
from ..autograd import Function
from ..errors import ShapeError


class MaxUnpoolNd(Function):
    """``out.plane[indices] = x`` over the last ``len(output_size)`` axes; zero elsewhere.

    Backward:
        dL/dx = dL/dy gathered at the switch positions ``indices``.
    """

    def forward(self, x, indices=None, output_size=()):
        xp = array_module(x)
        nd = len(output_size)
        lead = x.shape[:-nd]
        B, plane = math.prod(lead), math.prod(output_size)
        idx = indices.reshape(B, -1)                                        # (*lead, *in) -> (B, L_in)
        if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= plane):
            bad = int(idx.min()) if int(idx.min()) < 0 else int(idx.max())
            raise ShapeError(f"max_unpool: found an invalid max index {bad} (output volumes are of size "
                             f"{'x'.join(map(str, output_size))}, so indices must be in [0, {plane}))")
        self.in_shape = x.shape
        self.flat = idx + xp.arange(B).reshape(B, 1) * plane                # (B, L_in) into (B * plane,)
        out = xp.zeros(B * plane, x.dtype)
        out[self.flat.ravel()] = x.ravel()
        return out.reshape(lead + tuple(output_size))                       # (B * plane,) -> (*lead, *out)

    def backward(self, grad_out):
        # dL/dx = dL/dy read back at each value's switch position (a gather, the transpose of the scatter)
        g = grad_out.reshape(-1)[self.flat.ravel()]                         # (B * L_in,)
        return g.reshape(self.in_shape), None                               # -> (*lead, *in)


def max_unpool(x, indices, output_size):
    """Unpool Tensor ``x`` into the spatial ``output_size`` at Tensor ``indices`` (arguments checked by
    :mod:`convnet.functional.unpool`)."""
    return MaxUnpoolNd.apply(x, indices, output_size=tuple(output_size))


__all__ = ["MaxUnpoolNd", "max_unpool"]
