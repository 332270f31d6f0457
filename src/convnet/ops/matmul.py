"""Matrix product (the fully connected layer's engine), batched and broadcasting like torch.matmul."""
from __future__ import annotations

from .._backend import array_module
from ..autograd import Function
from ._util import as_tensor_pair, unbroadcast
from ..errors import ShapeError


class MatMul(Function):
    def forward(self, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ShapeError("matmul: both arguments need at least 1 dimension")
        ka = a.shape[-1]
        kb = b.shape[0] if b.ndim == 1 else b.shape[-2]
        if ka != kb:
            raise ShapeError(f"matmul: shapes {a.shape} and {b.shape} cannot be multiplied "
                             f"({ka} != {kb} in the contracted dimension)")
        self.save_for_backward(a, b)
        return array_module(a).matmul(a, b)

    def backward(self, g):  # dA = G B^T, dB = A^T G (summed over broadcast batch dims)
        a, b = self.saved_tensors
        xp = array_module(g)
        a2 = a[None, :] if a.ndim == 1 else a          # (1, K) for a vector
        b2 = b[:, None] if b.ndim == 1 else b          # (K, 1) for a vector
        g2 = g
        if b.ndim == 1:
            g2 = g2[..., None]                          # restore the N=1 axis: (..., M, 1)
        if a.ndim == 1:
            g2 = g2[..., None, :]                       # restore the M=1 axis: (..., 1, N)
        ga = gb = None
        if self.needs_input_grad[0]:
            ga = xp.matmul(g2, xp.swapaxes(b2, -1, -2))  # (..., M, N) @ (..., N, K)
            ga = unbroadcast(ga, a2.shape).reshape(a.shape)
        if self.needs_input_grad[1]:
            gb = xp.matmul(xp.swapaxes(a2, -1, -2), g2)  # (..., K, M) @ (..., M, N)
            gb = unbroadcast(gb, b2.shape).reshape(b.shape)
        return ga, gb


def matmul(a, b):
    return MatMul.apply(*as_tensor_pair(a, b))
