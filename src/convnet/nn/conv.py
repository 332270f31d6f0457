r"""Convolution layers: ``Conv1d/2d/3d`` and ``ConvTranspose1d/2d/3d`` (PyTorch's modules).

Each layer owns ``weight`` and ``bias`` and calls ``convnet.functional.conv{n}d`` /
``conv_transpose{n}d``; the arithmetic and its backward live in ``convnet.ops``.

.. math::

    \text{out}(N_i, C_{out_j}) = \text{bias}(C_{out_j}) +
        \sum_{k=0}^{C_{in}/g - 1} \text{weight}(C_{out_j}, k) \star \text{input}(N_i, k)
"""
from __future__ import annotations


import numpy as np

from .. import functional as F
from .. import shapes
from . import init
from .module import Module, Parameter
from ..errors import ShapeError

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
_CONV_NAME = {1: "conv1d", 2: "conv2d", 3: "conv3d"}


class _ConvNd(Module):
    """Shared constructor, initialisation and repr of the convolution layers."""

    _n = 2
    _transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", output_padding=0, *, dtype=None):
        super().__init__()
        name, n = type(self).__name__, self._n
        for arg, v in (("in_channels", in_channels), ("out_channels", out_channels)):
            if not isinstance(v, (int, np.integer)) or v <= 0:
                raise ShapeError(f"{name}: {arg} must be a positive integer, got {v!r}")
        if not isinstance(groups, (int, np.integer)) or groups <= 0:
            raise ShapeError(f"{name}: groups must be a positive integer, got {groups!r}")
        if in_channels % groups:
            raise ShapeError(f"{name}: in_channels ({in_channels}) must be divisible by groups ({groups})")
        if out_channels % groups:
            raise ShapeError(f"{name}: out_channels ({out_channels}) must be divisible by groups ({groups})")
        if padding_mode not in _PADDING_MODES:
            raise ShapeError(f"{name}: padding_mode must be one of {_PADDING_MODES}, got {padding_mode!r}")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = shapes.ntuple(kernel_size, n, "kernel_size", name)
        self.stride = shapes.ntuple(stride, n, "stride", name)
        self.dilation = shapes.ntuple(dilation, n, "dilation", name)
        if isinstance(padding, str):
            if self._transposed:
                raise ShapeError(f"{name}: padding must be an int or a tuple, got {padding!r}")
            if padding not in ("same", "valid"):
                raise ShapeError(f"{name}: padding must be 'same', 'valid', an int or a tuple, got {padding!r}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ShapeError(f"{name}: padding='same' is not supported for strided convolutions "
                                 f"(stride={self.stride})")
            self.padding = padding
        else:
            self.padding = shapes.ntuple(padding, n, "padding", name)
        self.output_padding = shapes.ntuple(output_padding, n, "output_padding", name)
        # torch checks these at the first forward; here the constructor refuses them already
        for arg, vals, least in (("kernel_size", self.kernel_size, 1), ("stride", self.stride, 1),
                                 ("dilation", self.dilation, 1), ("output_padding", self.output_padding, 0),
                                 ("padding", () if isinstance(self.padding, str) else self.padding, 0)):
            if any(v < least for v in vals):
                rule = "greater than zero" if least else "non-negative"
                raise ShapeError(f"{name}: {arg} should be {rule}, got {arg}={vals}")
        self.transposed = self._transposed
        self.groups = int(groups)
        self.padding_mode = padding_mode
        # F.pad order: (left, right) pairs starting from the last spatial dim
        pairs = []
        for k, d, i in zip(self.kernel_size, self.dilation, range(n)):
            if self.padding == "same":
                pairs.append(shapes.same_padding(k, d))
            elif self.padding == "valid":
                pairs.append((0, 0))
            else:
                pairs.append((self.padding[i], self.padding[i]))
        self._reversed_padding_repeated_twice = [p for pair in reversed(pairs) for p in pair]
        dtype = np.float32 if dtype is None else np.dtype(dtype)
        if self._transposed:
            wshape = (self.in_channels, self.out_channels // self.groups) + self.kernel_size
        else:
            wshape = (self.out_channels, self.in_channels // self.groups) + self.kernel_size
        self.weight = Parameter(np.empty(wshape, dtype=dtype))
        if bias:
            self.bias = Parameter(np.empty((self.out_channels,), dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        """PyTorch's default: weight ~ kaiming_uniform(a=sqrt(5)) = U(±1/sqrt(fan_in)), bias ~ U(±1/sqrt(fan_in))."""
        init.default_weight_bias_(self.weight, self.bias)

    def extra_repr(self):
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * self._n:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self._n:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self._n:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class _Conv(_ConvNd):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", *, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, dtype=dtype)

    def forward(self, input):
        conv = getattr(F, _CONV_NAME[self._n])
        # weight and bias from the Parameter store directly (Module.__getattr__ is the slow fallback)
        params = self._parameters
        weight = params["weight"] if "weight" in params else self.weight
        bias = params["bias"] if "bias" in params else self.bias
        if self.padding_mode != "zeros":
            x = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return conv(x, weight, bias, self.stride, (0,) * self._n, self.dilation, self.groups)
        return conv(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)


class Conv1d(_Conv):
    r"""1-D convolution over ``(N, C_in, L)``.

    Args:
        in_channels, out_channels: channels of input and output.
        kernel_size, stride, dilation: int or 1-tuple.
        padding: int, 1-tuple, 'valid' or 'same'.
        groups: split channels into ``groups`` independent convolutions.
        bias: learn an additive bias.
        padding_mode: 'zeros', 'reflect', 'replicate' or 'circular'.

    Shape:
        ``(N, C_in, L) -> (N, C_out, L_out)``,
        :math:`L_{out} = \lfloor (L + 2p - d(k-1) - 1)/s \rfloor + 1`.

    Attributes:
        weight: ``(C_out, C_in/groups, k)`` ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
        bias: ``(C_out,)``, same distribution.

    Example:
        >>> import convnet as cn
        >>> cn.nn.Conv1d(4, 8, 3)(cn.randn(2, 4, 10)).shape
        (2, 8, 8)
    """

    _n = 1


class Conv2d(_Conv):
    r"""2-D convolution over ``(N, C_in, H, W)``: the conv layer of a CNN.

    Args:
        in_channels, out_channels: channels of input and output.
        kernel_size, stride, dilation: int or (h, w).
        padding: int, (h, w), 'valid' or 'same'.
        groups: split channels into ``groups`` independent convolutions (``groups=C_in``: depthwise).
        bias: learn an additive bias.
        padding_mode: 'zeros', 'reflect', 'replicate' or 'circular'.

    Shape:
        ``(N, C_in, H, W) -> (N, C_out, H_out, W_out)``,
        :math:`H_{out} = \lfloor (H + 2p_0 - d_0(k_0-1) - 1)/s_0 \rfloor + 1` (same for W).

    Attributes:
        weight: ``(C_out, C_in/groups, kH, kW)`` ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
            ``fan_in = C_in/groups * kH * kW``.
        bias: ``(C_out,)``, same distribution.

    Example:
        >>> import convnet as cn
        >>> conv = cn.nn.Conv2d(3, 6, 5)
        >>> conv
        Conv2d(3, 6, kernel_size=(5, 5), stride=(1, 1))
        >>> conv(cn.randn(1, 3, 32, 32)).shape
        (1, 6, 28, 28)
    """

    _n = 2


class Conv3d(_Conv):
    r"""3-D convolution over ``(N, C_in, D, H, W)``; arguments as :class:`Conv2d` with 3-tuples.

    Shape:
        ``(N, C_in, D, H, W) -> (N, C_out, D_out, H_out, W_out)``, each size by the conv formula.

    Attributes:
        weight: ``(C_out, C_in/groups, kD, kH, kW)``; bias ``(C_out,)``.

    Example:
        >>> import convnet as cn
        >>> cn.nn.Conv3d(2, 4, 3, padding=1)(cn.randn(1, 2, 4, 5, 6)).shape
        (1, 4, 4, 5, 6)
    """

    _n = 3


class _ConvTransposeNd(_ConvNd):
    _transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, padding_mode="zeros", *, dtype=None):
        if padding_mode != "zeros":
            raise ShapeError(f'{type(self).__name__}: only "zeros" padding mode is supported, got {padding_mode!r}')
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, output_padding, dtype=dtype)
        for i, (op, s, d) in enumerate(zip(self.output_padding, self.stride, self.dilation)):
            if op >= max(s, d):
                raise ShapeError(f"{type(self).__name__}: output_padding {self.output_padding} must be smaller "
                                 f"than either stride {self.stride} or dilation {self.dilation} (dim {i})")

    def _output_padding(self, input, output_size):
        """The ``output_padding`` that makes the output exactly ``output_size`` (PyTorch's rule)."""
        if output_size is None:
            return self.output_padding
        n, name = self._n, type(self).__name__
        output_size = tuple(int(s) for s in output_size)
        lead = input.ndim - n
        if len(output_size) == lead + n:
            output_size = output_size[lead:]
        if len(output_size) != n:
            raise ShapeError(f"{name}: output_size must have {n} or {lead + n} elements, got {output_size}")
        spatial = input.shape[lead:]
        lo = [shapes.conv_transpose_output_size(spatial[d], self.kernel_size[d], self.stride[d], self.padding[d],
                                                0, self.dilation[d]) for d in range(n)]
        hi = [lo[d] + self.stride[d] - 1 for d in range(n)]
        if any(not lo[d] <= output_size[d] <= hi[d] for d in range(n)):
            raise ShapeError(f"{name}: requested an output size of {output_size}, but valid sizes range from "
                             f"{tuple(lo)} to {tuple(hi)} (for an input of {tuple(spatial)})")
        return tuple(output_size[d] - lo[d] for d in range(n))

    def forward(self, input, output_size=None):
        output_padding = self._output_padding(input, output_size)
        conv_t = getattr(F, f"conv_transpose{self._n}d")
        return conv_t(input, self.weight, self.bias, self.stride, self.padding, output_padding, self.groups,
                      self.dilation)


class ConvTranspose1d(_ConvTransposeNd):
    r"""Transposed 1-D convolution (the gradient of Conv1d w.r.t. its input; "deconvolution").

    Shape:
        ``(N, C_in, L) -> (N, C_out, L_out)``,
        :math:`L_{out} = (L-1)s - 2p + d(k-1) + \text{output\_padding} + 1`.

    Attributes:
        weight: ``(C_in, C_out/groups, k)``; default init uses ``fan_in = C_out/groups * k``
            (weight dim 1, as PyTorch). bias ``(C_out,)``.

    Example:
        >>> import convnet as cn
        >>> cn.nn.ConvTranspose1d(4, 2, 3, stride=2)(cn.randn(1, 4, 5)).shape
        (1, 2, 11)
    """

    _n = 1


class ConvTranspose2d(_ConvTransposeNd):
    r"""Transposed 2-D convolution: upsamples ``(N, C_in, H, W)``; the adjoint of :class:`Conv2d`.

    Args:
        in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias: as Conv2d.
        output_padding: extra size added to one side of the output, to pick among the sizes
            a strided Conv2d maps to the same input size. ``forward(x, output_size=...)``
            computes it for you.

    Shape:
        ``(N, C_in, H, W) -> (N, C_out, H_out, W_out)``,
        :math:`H_{out} = (H-1)s_0 - 2p_0 + d_0(k_0-1) + \text{output\_padding}_0 + 1`.

    Attributes:
        weight: ``(C_in, C_out/groups, kH, kW)`` ~ U(±1/sqrt(fan_in)), ``fan_in = C_out/groups*kH*kW``.
        bias: ``(C_out,)``.

    Example:
        >>> import convnet as cn
        >>> up = cn.nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1)
        >>> up(cn.randn(1, 8, 5, 5), output_size=(10, 10)).shape
        (1, 4, 10, 10)
    """

    _n = 2


class ConvTranspose3d(_ConvTransposeNd):
    r"""Transposed 3-D convolution over ``(N, C_in, D, H, W)``; arguments as :class:`ConvTranspose2d`.

    Example:
        >>> import convnet as cn
        >>> cn.nn.ConvTranspose3d(2, 3, 2, stride=2)(cn.randn(1, 2, 2, 3, 4)).shape
        (1, 3, 4, 6, 8)
    """

    _n = 3


__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"]
