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


def _check_dims(name, a, b, na, nb):
    for arg, t, n in (("input", a, na), ("mat2" if name == "bmm" else "tensor", b, nb)):
        if not hasattr(t, "ndim"):
            raise TypeError(f"{name}: argument '{arg}' must be a Tensor, got {type(t).__name__}")
        if t.ndim != n:
            raise ShapeError(f"{name}: argument '{arg}' must be a {n}-D tensor, got shape {tuple(t.shape)}")


def bmm(input, mat2):
    """Batched matrix product: ``(B, n, m) @ (B, m, p) -> (B, n, p)``, no broadcasting (``torch.bmm``)."""
    _check_dims("bmm", input, mat2, 3, 3)
    if input.shape[0] != mat2.shape[0] or input.shape[2] != mat2.shape[1]:
        raise ShapeError(f"bmm: expected (B, n, m) and (B, m, p), got {tuple(input.shape)} and {tuple(mat2.shape)}")
    return matmul(input, mat2)


def dot(input, tensor):
    """Inner product of two 1-d tensors of the same length: a 0-d tensor (``torch.dot``)."""
    _check_dims("dot", input, tensor, 1, 1)
    if input.shape[0] != tensor.shape[0]:
        raise ShapeError(f"dot: inconsistent tensor size, expected tensors of the same number of elements, "
                         f"got {input.shape[0]} and {tensor.shape[0]}")
    return matmul(input, tensor)


def outer(input, vec2):
    """Outer product of two 1-d tensors: ``out[i, j] = input[i] * vec2[j]``, shape ``(n, m)``."""
    from .elementwise import mul
    from .movement import reshape

    _check_dims("outer", input, vec2, 1, 1)
    return mul(reshape(input, (-1, 1)), reshape(vec2, (1, -1)))               # (n, 1) * (1, m)
