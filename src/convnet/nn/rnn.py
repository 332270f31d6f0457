"""``LSTM``: a long short-term memory recurrent layer (``torch.nn.LSTM``).

Composed from differentiable primitives (matmul, add, sigmoid, tanh, mul, stack), so its backward
(backpropagation through time) is autograd's and correct by construction.
"""
from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from ..ops import cat, stack
from ..tensor import Tensor
from . import init
from .module import Module, Parameter


class LSTM(Module):
    r"""Multi-layer LSTM over a sequence (PyTorch's equations, gate order i, f, g, o).

    For each time step ``t`` and layer:

    .. math::
        i_t = \sigma(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi}),\quad
        f_t = \sigma(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf}) \\
        g_t = \tanh(W_{ig} x_t + b_{ig} + W_{hg} h_{t-1} + b_{hg}),\quad
        o_t = \sigma(W_{io} x_t + b_{io} + W_{ho} h_{t-1} + b_{ho}) \\
        c_t = f_t \odot c_{t-1} + i_t \odot g_t,\qquad h_t = o_t \odot \tanh(c_t)

    The input of layer ``k > 0`` is the output of layer ``k - 1`` (with dropout ``dropout`` in training).

    Args:
        input_size: features of ``x_t``.
        hidden_size: features of ``h_t``.
        num_layers: stacked LSTM layers (default 1).
        bias: add ``b_ih`` and ``b_hh`` (default True).
        batch_first: input and output are ``(N, L, *)`` instead of ``(L, N, *)``.
        dropout: dropout probability on the outputs of every layer but the last.
        bidirectional: also run each layer backwards in time and concatenate the two outputs.

    Shape:
        input ``(L, N, H_in)`` (``(N, L, H_in)`` if batch_first, or unbatched ``(L, H_in)``);
        optional ``(h_0, c_0)`` each ``(D * num_layers, N, H)`` with ``D = 2`` if bidirectional else 1.
        Returns ``output, (h_n, c_n)``: output ``(L, N, D * H)`` (batch_first: ``(N, L, D * H)``),
        ``h_n`` and ``c_n`` ``(D * num_layers, N, H)``.

    Attributes:
        weight_ih_l{k}: ``(4 * H, H_in)`` for ``k = 0``, else ``(4 * H, D * H)``: rows ``[W_ii | W_if | W_ig | W_io]``.
        weight_hh_l{k}: ``(4 * H, H)``. bias_ih_l{k}, bias_hh_l{k}: ``(4 * H,)``. All ~ U(-1/sqrt(H), 1/sqrt(H)).
        The reverse direction's parameters carry the suffix ``_reverse``.

    Example:
        >>> import convnet as cn
        >>> lstm = cn.nn.LSTM(10, 20, num_layers=2, batch_first=True)
        >>> out, (h, c) = lstm(cn.randn(3, 5, 10))
        >>> out.shape, h.shape
        (convnet.Size([3, 5, 20]), convnet.Size([2, 3, 20]))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, *, dtype=None):
        super().__init__()
        for name, v in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
            if not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"LSTM: {name} must be a positive integer, received {v!r}")
        if not 0 <= float(dropout) <= 1:
            raise ValueError(f"LSTM: dropout must be a probability in [0, 1], received {dropout!r}")
        self.input_size, self.hidden_size, self.num_layers = int(input_size), int(hidden_size), int(num_layers)
        self.bias, self.batch_first, self.dropout = bool(bias), bool(batch_first), float(dropout)
        self.bidirectional = bool(bidirectional)
        dt = np.float32 if dtype is None else np.dtype(dtype)
        d = 2 if self.bidirectional else 1
        h = self.hidden_size
        self._flat_names = []
        for layer in range(self.num_layers):
            size_in = self.input_size if layer == 0 else d * h
            for suffix in ("", "_reverse")[:d]:
                shapes = [("weight_ih", (4 * h, size_in)), ("weight_hh", (4 * h, h))]
                if self.bias:
                    shapes += [("bias_ih", (4 * h,)), ("bias_hh", (4 * h,))]
                for kind, shape in shapes:
                    name = f"{kind}_l{layer}{suffix}"
                    setattr(self, name, Parameter(np.empty(shape, dt)))
                    self._flat_names.append(name)
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1.0 / math.sqrt(self.hidden_size)
        for name in self._flat_names:
            init.uniform_(getattr(self, name), -bound, bound)

    def _cell_params(self, layer, reverse):
        suffix = f"_l{layer}{'_reverse' if reverse else ''}"
        w_ih, w_hh = getattr(self, "weight_ih" + suffix), getattr(self, "weight_hh" + suffix)
        b = (getattr(self, "bias_ih" + suffix) + getattr(self, "bias_hh" + suffix)) if self.bias else None
        return w_ih, w_hh, b

    def _run_direction(self, x, h, c, layer, reverse):
        """One layer, one direction. x ``(L, N, H_in)``, h and c ``(N, H)`` -> outputs ``[(N, H)] * L``, h, c."""
        w_ih, w_hh, b = self._cell_params(layer, reverse)
        length = x.shape[0]
        hs = self.hidden_size
        # input projections for all steps at once: (L, N, H_in) @ (H_in, 4H) -> (L, N, 4H)
        gates_x = x @ w_ih.T
        if b is not None:
            gates_x = gates_x + b
        outputs = [None] * length
        steps = range(length - 1, -1, -1) if reverse else range(length)
        w_hh_t = w_hh.T  # (H, 4H)
        for t in steps:
            gates = gates_x[t] + h @ w_hh_t  # (N, 4H), columns [i | f | g | o]
            i = gates[:, 0:hs].sigmoid()
            f = gates[:, hs:2 * hs].sigmoid()
            g = gates[:, 2 * hs:3 * hs].tanh()
            o = gates[:, 3 * hs:4 * hs].sigmoid()
            c = f * c + i * g
            h = o * c.tanh()
            outputs[t] = h
        return outputs, h, c

    def forward(self, input, hx=None):
        if not isinstance(input, Tensor):
            raise TypeError(f"LSTM: input must be a Tensor, received {type(input).__name__}")
        if input.ndim not in (2, 3):
            raise ValueError(f"LSTM: input must be 2-D (L, H_in) or 3-D (L, N, H_in)"
                             f"{' [batch_first: (N, L, H_in)]' if self.batch_first else ''}, received shape "
                             f"{tuple(input.shape)}")
        if input.shape[-1] != self.input_size:
            raise ValueError(f"LSTM: input.size(-1) must be input_size={self.input_size}, received "
                             f"{input.shape[-1]} (input shape {tuple(input.shape)})")
        unbatched = input.ndim == 2
        x = input.unsqueeze(1) if unbatched else (input.transpose(0, 1) if self.batch_first else input)
        n = x.shape[1]  # x (L, N, H_in)
        d = 2 if self.bidirectional else 1
        want = (d * self.num_layers, n, self.hidden_size)
        if hx is None:
            zeros = Tensor(np.zeros(want, x._data.dtype))
            h0, c0 = zeros, zeros
        else:
            h0, c0 = hx
            if unbatched:
                h0, c0 = h0.unsqueeze(1), c0.unsqueeze(1)
            for name, t in (("h_0", h0), ("c_0", c0)):
                if tuple(t.shape) != want:
                    raise ValueError(f"LSTM: {name} must have shape {want if not unbatched else (want[0], want[2])}"
                                     f", received {tuple(t.shape) if not unbatched else (t.shape[0], t.shape[2])}")
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            outs = []
            for k in range(d):
                idx = layer * d + k
                steps, h, c = self._run_direction(x, h0[idx], c0[idx], layer, reverse=k == 1)
                outs.append(stack(steps, 0))  # (L, N, H)
                h_n.append(h)
                c_n.append(c)
            x = outs[0] if d == 1 else cat(outs, dim=2)  # (L, N, D*H)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, training=True)
        h_n, c_n = stack(h_n, 0), stack(c_n, 0)  # (D*num_layers, N, H)
        if unbatched:
            return x.squeeze(1), (h_n.squeeze(1), c_n.squeeze(1))
        return (x.transpose(0, 1) if self.batch_first else x), (h_n, c_n)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s
