"""Fully connected and dropout primitives: forward and backward side by side."""
from __future__ import annotations

from ..autograd import Function
from ._util import unbroadcast


class Linear(Function):
    """``y = x W^T + b`` with any leading dims on ``x``, as one primitive."""

    def forward(self, x, weight, *bias):
        lead = x.shape[:-1]
        x2 = x.reshape(-1, x.shape[-1])                # (B, in), B = prod(leading dims)
        out = x2 @ weight.T                           # (B, in) @ (in, out) -> (B, out)
        if bias:
            out = out + bias[0]
        self.save_for_backward(x2, weight)
        self.lead, self.bshape = lead, bias[0].shape if bias else None
        return out.reshape(lead + (weight.shape[0],))  # (*, out)

    def backward(self, g):
        x2, weight = self.saved_tensors
        g2 = g.reshape(-1, weight.shape[0])            # (B, out)
        gx = gw = gb = None
        if self.needs_input_grad[0]:                   # dX = G W: (B, out) @ (out, in)
            gx = (g2 @ weight).reshape(self.lead + (weight.shape[1],))
        if self.needs_input_grad[1]:                   # dW = G^T X: (out, B) @ (B, in)
            gw = g2.T @ x2
        if self.bshape is None:
            return gx, gw
        if self.needs_input_grad[2]:                   # db = sum of G over the batch
            gb = unbroadcast(g2.sum(axis=0), self.bshape)
        return gx, gw, gb


class Dropout(Function):
    """Multiply by a fixed mask that already holds the ``1/(1-p)`` scale."""

    def forward(self, x, mask=None):
        self.mask = mask
        return x * mask

    def backward(self, g):  # same mask, same scale
        return g * self.mask
