r"""Pooling layers (no parameters): max, average, min (ours) and adaptive pooling.

Output size along each pooled axis (``ceil_mode`` rounds up, PyTorch's rule):

.. math::

    H_{out} = \left\lfloor \frac{H + 2p - d(k-1) - 1}{s} \right\rfloor + 1, \quad s = k \text{ by default}
"""
from __future__ import annotations

from .. import functional as F
from .module import Module


class _MaxPoolNd(Module):
    _n = 2
    _fn = "max_pool2d"

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def forward(self, input):
        return getattr(F, self._fn)(input, self.kernel_size, self.stride, self.padding, self.dilation,
                                    ceil_mode=self.ceil_mode, return_indices=self.return_indices)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    """Max over sliding windows of ``(N, C, L)``.

    Args:
        kernel_size: window size. stride: defaults to ``kernel_size``. padding: implicit -inf
            padding on both sides (at most half the kernel). dilation: spacing of window elements.
        return_indices: also return the argmax positions (flat per channel, as PyTorch).
        ceil_mode: round the output size up.

    Shape:
        ``(N, C, L) -> (N, C, L_out)``, :math:`L_{out} = \\lfloor (L + 2p - d(k-1) - 1)/s \\rfloor + 1`.

    Example:
        >>> import convnet as cn
        >>> cn.nn.MaxPool1d(2)(cn.randn(1, 3, 8)).shape
        (1, 3, 4)
    """

    _n, _fn = 1, "max_pool1d"


class MaxPool2d(_MaxPoolNd):
    """Max over ``kH x kW`` windows of ``(N, C, H, W)``: the subsampling layer of a CNN.

    Args: as :class:`MaxPool1d`, with int or (h, w) values.

    Shape:
        ``(N, C, H, W) -> (N, C, H_out, W_out)``, each by the pooling formula.

    Example:
        >>> import convnet as cn
        >>> cn.nn.MaxPool2d(2, 2)(cn.randn(1, 6, 28, 28)).shape
        (1, 6, 14, 14)
    """

    _n, _fn = 2, "max_pool2d"


class MaxPool3d(_MaxPoolNd):
    """Max over ``kD x kH x kW`` windows of ``(N, C, D, H, W)``.

    Example:
        >>> import convnet as cn
        >>> cn.nn.MaxPool3d(2)(cn.randn(1, 2, 4, 4, 4)).shape
        (1, 2, 2, 2, 2)
    """

    _n, _fn = 3, "max_pool3d"


class MinPool2d(_MaxPoolNd):
    """Min over ``kH x kW`` windows of ``(N, C, H, W)`` (ours; torch has none): ``-max_pool(-x)``.

    Arguments (no ``return_indices``) and output size as :class:`MaxPool2d`.

    Example:
        >>> import convnet as cn
        >>> cn.nn.MinPool2d(2)(cn.randn(1, 1, 4, 4)).shape
        (1, 1, 2, 2)
    """

    _n, _fn = 2, "min_pool2d"

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        super().__init__(kernel_size, stride, padding, dilation, False, ceil_mode)

    def forward(self, input):
        return F.min_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            ceil_mode=self.ceil_mode)


class AvgPool1d(Module):
    """Average over sliding windows of ``(N, C, L)``.

    Args:
        kernel_size, stride (default ``kernel_size``), padding (zeros), ceil_mode.
        count_include_pad: divide by the full window size, padding included (default True).

    Shape:
        ``(N, C, L) -> (N, C, L_out)``, :math:`L_{out} = \\lfloor (L + 2p - k)/s \\rfloor + 1`.

    Example:
        >>> import convnet as cn
        >>> cn.nn.AvgPool1d(3, stride=2)(cn.randn(1, 2, 9)).shape
        (1, 2, 4)
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
        super().__init__()
        single = lambda v: tuple(v) if isinstance(v, (tuple, list)) else (v,)  # noqa: E731
        self.kernel_size = single(kernel_size)
        self.stride = single(stride if stride is not None else kernel_size)
        self.padding = single(padding)
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, input):
        return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class _AvgPoolNd(Module):
    _fn = "avg_pool2d"

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input):
        return getattr(F, self._fn)(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                                    self.count_include_pad, self.divisor_override)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(_AvgPoolNd):
    """Average over ``kH x kW`` windows of ``(N, C, H, W)``.

    Args: as :class:`AvgPool1d`, plus ``divisor_override`` (divide by this instead).

    Example:
        >>> import convnet as cn
        >>> cn.nn.AvgPool2d(2)(cn.randn(1, 3, 6, 6)).shape
        (1, 3, 3, 3)
    """

    _fn = "avg_pool2d"


class AvgPool3d(_AvgPoolNd):
    """Average over ``kD x kH x kW`` windows of ``(N, C, D, H, W)``.

    Example:
        >>> import convnet as cn
        >>> cn.nn.AvgPool3d(2)(cn.randn(1, 1, 4, 4, 4)).shape
        (1, 1, 2, 2, 2)
    """

    _fn = "avg_pool3d"


class _AdaptivePool(Module):
    _fn = "adaptive_avg_pool2d"
    _max = False

    def __init__(self, output_size, return_indices=False):
        super().__init__()
        self.output_size = output_size
        if self._max:
            self.return_indices = return_indices

    def forward(self, input):
        if self._max:
            return getattr(F, self._fn)(input, self.output_size, self.return_indices)
        return getattr(F, self._fn)(input, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


def _adaptive_doc(kind, n):
    dims = {1: "L", 2: "H, W", 3: "D, H, W"}[n]
    return (f"Adaptive {kind} pooling to a fixed ``output_size`` whatever the input size.\n\n"
            f"    Window ``i`` covers ``[floor(i*n/o), ceil((i+1)*n/o))`` along each axis; ``None`` in\n"
            f"    ``output_size`` keeps that input size.\n\n"
            f"    Shape:\n        ``(N, C, {dims}) -> (N, C, *output_size)``.\n")


class AdaptiveAvgPool1d(_AdaptivePool):
    __doc__ = _adaptive_doc("average", 1)
    _fn = "adaptive_avg_pool1d"

    def __init__(self, output_size):
        super().__init__(output_size)


class AdaptiveAvgPool2d(_AdaptivePool):
    __doc__ = _adaptive_doc("average", 2) + """
    Example:
        >>> import convnet as cn
        >>> cn.nn.AdaptiveAvgPool2d((1, 1))(cn.randn(2, 8, 7, 5)).shape
        (2, 8, 1, 1)
    """
    _fn = "adaptive_avg_pool2d"

    def __init__(self, output_size):
        super().__init__(output_size)


class AdaptiveAvgPool3d(_AdaptivePool):
    __doc__ = _adaptive_doc("average", 3)
    _fn = "adaptive_avg_pool3d"

    def __init__(self, output_size):
        super().__init__(output_size)


class AdaptiveMaxPool1d(_AdaptivePool):
    __doc__ = _adaptive_doc("max", 1)
    _fn, _max = "adaptive_max_pool1d", True


class AdaptiveMaxPool2d(_AdaptivePool):
    __doc__ = _adaptive_doc("max", 2)
    _fn, _max = "adaptive_max_pool2d", True


class AdaptiveMaxPool3d(_AdaptivePool):
    __doc__ = _adaptive_doc("max", 3)
    _fn, _max = "adaptive_max_pool3d", True


__all__ = ["MaxPool1d", "MaxPool2d", "MaxPool3d", "MinPool2d", "AvgPool1d", "AvgPool2d", "AvgPool3d",
           "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d", "AdaptiveMaxPool1d",
           "AdaptiveMaxPool2d", "AdaptiveMaxPool3d"]
