"""Upsampling layers over :func:`convnet.functional.interpolate` (torch's ``nn.Upsample`` family)."""
from __future__ import annotations

from .. import functional as F
from .module import Module


class Upsample(Module):
    """Resize ``(N, C, *S)`` to ``size`` or by ``scale_factor`` (see ``F.interpolate``).

    Args:
        size: output spatial size (int or tuple).
        scale_factor: spatial multiplier (float or tuple).
        mode: ``'nearest'`` (default), ``'nearest-exact'``, ``'linear'``, ``'bilinear'``,
            ``'trilinear'`` or ``'area'``.
        align_corners: linear modes only (torch's default ``None`` = ``False``).
        recompute_scale_factor: see ``F.interpolate``.

    Shape:
        ``(N, C, *S_in) -> (N, C, *S_out)``, ``S_out = size`` or ``floor(S_in * scale_factor)``.

    Example:
        >>> import convnet as cn
        >>> cn.nn.Upsample(scale_factor=2)(cn.zeros(1, 3, 4, 5)).shape
        (1, 3, 8, 10)
    """

    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None,
                 recompute_scale_factor=None):
        super().__init__()
        self.size = size
        self.scale_factor = float(scale_factor) if isinstance(scale_factor, (int, float)) else scale_factor
        self.mode, self.align_corners = mode, align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input):
        return F.interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                             recompute_scale_factor=self.recompute_scale_factor)

    def extra_repr(self):
        what = f"scale_factor={self.scale_factor}" if self.scale_factor is not None else f"size={self.size}"
        return f"{what}, mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """Nearest-neighbour 2-D upsampling (``Upsample(mode='nearest')``)."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """Bilinear 2-D upsampling with ``align_corners=True`` (torch's definition of this layer)."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)


__all__ = ["Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d"]
