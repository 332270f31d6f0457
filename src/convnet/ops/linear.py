"""Fully connected and dropout primitives: forward and backward side by side."""
from __future__ import annotations

from .._backend import array_module
from ..autograd import Function
from ._parallel import even_slices, map_chunks, num_threads, single_threaded_blas
from ._util import unbroadcast

# OpenBLAS runs a GEMM on its own threads once M*N*K exceeds 4 * 65536 (its
# GEMM_MULTITHREAD_THRESHOLD); those threads then spin for a while after the call and take a
# core from convnet's conv/pool workers (LeNet-5 training step, 2 threads: 22 -> 15 ms once the
# fully connected layers stopped waking them). Above it, the product runs with BLAS on one
# thread: inline, or split by rows over the worker pool when it is big enough to pay.
BLAS_THREADED_MNK = 4 * 65536
POOL_MNK = 1 << 23                                    # ~17 MFLOP: worth two workers


def _mm(a, b):
    """``a @ b`` for 2-D operands, without waking BLAS's own threads (see :data:`BLAS_THREADED_MNK`)."""
    xp = array_module(a)
    (M, K), N = a.shape, b.shape[1]
    if xp.__name__ != "numpy" or M * N * K <= BLAS_THREADED_MNK:
        return a @ b
    if M * N * K >= POOL_MNK and M >= 2 * num_threads() > 2:
        out = xp.empty((M, N), dtype=xp.result_type(a, b))
        map_chunks(xp, lambda sl: xp.matmul(a[sl], b, out=out[sl]), even_slices(M), 1, 0)  # rows of out
        return out
    with single_threaded_blas():
        return a @ b


class Linear(Function):
    """``y = x W^T + b`` with any leading dims on ``x``, as one primitive.

    Backward:
        dL/dx = G W; dL/dW = G^T x; dL/db = sum of G over rows (G = dL/dy as (B, out)).
    """

    def forward(self, x, weight, *bias):
        lead = x.shape[:-1]
        x2 = x.reshape(-1, x.shape[-1])                # (B, in), B = prod(leading dims)
        out = _mm(x2, weight.T)                       # (B, in) @ (in, out) -> (B, out)
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
            gx = _mm(g2, weight).reshape(self.lead + (weight.shape[1],))
        if self.needs_input_grad[1]:                   # dW = G^T X: (out, B) @ (B, in)
            gw = _mm(g2.T, x2)
        if self.bshape is None:
            return gx, gw
        if self.needs_input_grad[2]:                   # db = sum of G over the batch
            gb = unbroadcast(g2.sum(axis=0), self.bshape)
        return gx, gw, gb


class Dropout(Function):
    """Multiply by a fixed mask that already holds the ``1/(1-p)`` scale.

    Backward:
        dL/dx = dL/dy * mask (the saved mask, which holds the 1/(1-p) scale).
    """

    def forward(self, x, mask=None):
        self.mask = mask
        return x * mask

    def backward(self, g):  # same mask, same scale
        return g * self.mask
