"""Activation primitives (nonlinearities) and the softmax family."""
from __future__ import annotations

from .._backend import array_module
from ..autograd import Function
from . import _clib, _pool
from ._parallel import even_slices, map_chunks_light as map_chunks
from ._util import check_float, is_channels_last, normalize_dim


# Below this many bytes, threads cost more than they save: elementwise ops run inline.
PARALLEL_MIN_BYTES = 1 << 20


def _batch_map(xp, work, out):
    """``work(sl)`` for batch slices ``sl`` of ``out``, one per worker thread (inline when small)."""
    map_chunks(xp, work, even_slices(out.shape[0]), out.nbytes, PARALLEL_MIN_BYTES)


class ReLU(Function):
    """max(x, 0), split over the batch on the worker pool for large inputs. Saves the output,
    not a mask: ``out > 0`` exactly where ``x > 0`` (NaN stays NaN and gets no gradient).

    Backward:
        dL/dx = dL/dy * [y > 0] (the saved output is the mask).
    """

    def forward(self, x):
        xp = array_module(x)
        zero = x.dtype.type(0)
        if x.ndim == 0 or x.nbytes < _pool.MIN_BYTES:
            out = xp.maximum(x, zero)
        else:
            out = _pool.empty_like(x)                              # keeps a channels-last layout
            flat = _same_layout_rows(x, out)
            if flat is not None:                                   # one C pass per slice, on the C pool
                xf, of = flat
                _clib.run([[("cc_relu_forward", xf[sl].ctypes.data, of[sl].ctypes.data, xf[sl].size)]
                           for sl in even_slices(x.shape[0])], x.nbytes >= PARALLEL_MIN_BYTES)
            else:
                _batch_map(xp, lambda sl: xp.maximum(x[sl], zero, out=out[sl]), out)
        if self.needs_input_grad[0]:  # else no backward will run
            self.out = out
        return out

    def backward(self, g):  # ReLU passes the gradient only where the input was positive
        xp = array_module(g)
        if g.ndim == 0 or g.nbytes < _pool.MIN_BYTES:
            return g * (self.out > 0)
        gx = _pool.empty_like(self.out)                            # the layout of the forward's tensors
        flat = _same_layout_rows(self.out, g, gx)
        if flat is not None:                                       # one C pass per slice, no mask array
            out, gf, gxf = flat
            _clib.run([[("cc_relu_backward", out[sl].ctypes.data, gf[sl].ctypes.data, gxf[sl].ctypes.data,
                         out[sl].size)] for sl in even_slices(gxf.shape[0])], g.nbytes >= PARALLEL_MIN_BYTES)
            return gx
        _batch_map(xp, lambda sl: xp.multiply(g[sl], self.out[sl] > 0, out=gx[sl]), gx)
        return gx


def _same_layout_rows(*arrays):
    """For the C kernels: float32 NumPy arrays of one shape, all C-contiguous or all channels-last,
    as views that are C-contiguous per batch slice ((N, ...) or (N, *S, C)); else None."""
    if not _clib.takes(*arrays):
        return None
    if all(a.flags.c_contiguous for a in arrays):
        return arrays
    if all(is_channels_last(a) for a in arrays):
        views = tuple(array_module(a).moveaxis(a, 1, -1) for a in arrays)  # (N, C, *S) -> (N, *S, C)
        return views if all(v.flags.c_contiguous for v in views) else None
    return None


class LeakyReLU(Function):
    """LeakyReLU.

    Backward:
        dL/dx = dL/dy * (1 if x > 0 else negative_slope), the saved slope.
    """
    def forward(self, x, negative_slope=0.01):
        xp = array_module(x)
        self.slope = xp.where(x > 0, x.dtype.type(1), x.dtype.type(negative_slope))
        return x * self.slope

    def backward(self, g):
        return g * self.slope


class Sigmoid(Function):
    """Sigmoid.

    Backward:
        dL/dx = dL/dy * y (1 - y), y the saved output.
    """
    def forward(self, x):
        xp = array_module(x)
        # stable: exp of a non-positive number only
        e = xp.exp(-xp.abs(x))
        self.out = xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)
        return self.out

    def backward(self, g):  # s'(x) = s(x) (1 - s(x))
        return g * self.out * (1 - self.out)


class Tanh(Function):
    """Tanh.

    Backward:
        dL/dx = dL/dy * (1 - y^2), y the saved output.
    """
    def forward(self, x):
        self.out = array_module(x).tanh(x)
        return self.out

    def backward(self, g):  # tanh'(x) = 1 - tanh(x)^2
        return g * (1 - self.out * self.out)


class Softplus(Function):
    """softplus(x) = log(1 + exp(beta x)) / beta, linear where beta x > threshold (as torch).

    Backward:
        dL/dx = dL/dy * sigmoid(beta x) (dL/dy where beta x > threshold).
    """

    def forward(self, x, beta=1.0, threshold=20.0):
        xp = array_module(x)
        bx = x * beta
        self.linear = bx > threshold
        # log1p(exp(bx)) computed stably as max(bx,0) + log1p(exp(-|bx|))
        e = xp.exp(-xp.abs(bx))                                   # never overflows
        soft = (xp.maximum(bx, 0) + xp.log1p(e)) / beta
        self.sig_bx = xp.where(bx >= 0, 1 / (1 + e), e / (1 + e))  # sigmoid(bx), stably
        return xp.where(self.linear, x, soft).astype(x.dtype, copy=False)

    def backward(self, g):  # d softplus = sigmoid(beta x)
        xp = array_module(g)
        return xp.where(self.linear, g, g * self.sig_bx).astype(g.dtype, copy=False)


class GELU(Function):
    """Exact GELU, ``x Phi(x)`` with ``Phi`` the standard normal CDF (erf from SciPy, NumPy arrays).

    Backward:
        dL/dx = dL/dy * (Phi(x) + x phi(x)), phi the standard normal density.
    """

    def forward(self, x):
        from scipy.special import erf
        xp = array_module(x)
        self.x = x
        self.cdf = (0.5 * (1 + erf(x * x.dtype.type(0.7071067811865476)))).astype(x.dtype, copy=False)
        return x * self.cdf

    def backward(self, g):  # d/dx x Phi(x) = Phi(x) + x phi(x), phi the standard normal density
        xp = array_module(g)
        pdf = xp.exp(-0.5 * self.x * self.x) * self.x.dtype.type(0.3989422804014327)
        return g * (self.cdf + self.x * pdf)


class Softmax(Function):
    """Softmax.

    Backward:
        dL/dx = y * (dL/dy - sum_dim(dL/dy * y)) (J^T g), y the saved output.
    """
    def forward(self, x, dim=-1):
        xp = array_module(x)
        e = xp.exp(x - x.max(axis=dim, keepdims=True))
        self.out, self.dim = e / e.sum(axis=dim, keepdims=True), dim
        return self.out

    def backward(self, g):  # J^T g = s * (g - sum(g s))
        s = self.out
        return s * (g - (g * s).sum(axis=self.dim, keepdims=True))


class LogSoftmax(Function):
    """LogSoftmax.

    Backward:
        dL/dx = dL/dy - exp(y) * sum_dim(dL/dy), y the saved output.
    """
    def forward(self, x, dim=-1):
        xp = array_module(x)
        shifted = x - x.max(axis=dim, keepdims=True)
        out = shifted - xp.log(xp.exp(shifted).sum(axis=dim, keepdims=True))
        self.out, self.dim = out, dim
        return out

    def backward(self, g):  # g - softmax * sum(g)
        xp = array_module(g)
        return g - xp.exp(self.out) * g.sum(axis=self.dim, keepdims=True)


def relu(x):
    check_float("relu", "input", x)
    return ReLU.apply(x)


def leaky_relu(x, negative_slope=0.01):
    check_float("leaky_relu", "input", x)
    return LeakyReLU.apply(x, negative_slope=negative_slope)


def sigmoid(x):
    check_float("sigmoid", "input", x)
    return Sigmoid.apply(x)


def tanh(x):
    check_float("tanh", "input", x)
    return Tanh.apply(x)


def softplus(x, beta=1.0, threshold=20.0):
    check_float("softplus", "input", x)
    return Softplus.apply(x, beta=beta, threshold=threshold)


def softmax(x, dim):
    check_float("softmax", "input", x)
    return Softmax.apply(x, dim=normalize_dim(dim, x.ndim))


def log_softmax(x, dim):
    check_float("log_softmax", "input", x)
    return LogSoftmax.apply(x, dim=normalize_dim(dim, x.ndim))


def gelu_exact(x):
    check_float("gelu", "input", x)
    return GELU.apply(x)
