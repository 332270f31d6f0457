"""Dropout layers (Srivastava et al. 2014): active in ``train()`` mode, identity in ``eval()``."""
from __future__ import annotations

from .. import functional as F
from .module import Module
from ..errors import ShapeError


class _DropoutNd(Module):
    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if not isinstance(p, (int, float)) or isinstance(p, bool) or not 0 <= p <= 1:
            raise ShapeError(f"{type(self).__name__}: dropout probability has to be between 0 and 1, but got {p!r}")
        self.p, self.inplace = p, inplace

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Zero each element with probability ``p`` and scale the rest by ``1/(1-p)`` (inverted
    dropout, so evaluation needs no rescaling). Draws from the generator of ``cn.manual_seed``.

    Shape:
        any -> same.

    Example:
        >>> import convnet as cn
        >>> drop = cn.nn.Dropout(0.5)
        >>> drop.eval()(cn.ones(3)).tolist()
        [1.0, 1.0, 1.0]
    """

    def forward(self, input):
        return F.dropout(input, self.p, self.training)


class Dropout2d(_DropoutNd):
    """Zero whole channels of ``(N, C, H, W)`` with probability ``p`` (scale the rest by ``1/(1-p)``):
    neighbouring pixels are correlated, so per-element dropout would barely regularise.

    Shape:
        ``(N, C, H, W)`` or ``(C, H, W)`` -> same.
    """

    def forward(self, input):
        return F.dropout2d(input, self.p, self.training)


class Dropout1d(_DropoutNd):
    """Zero whole channels of ``(N, C, L)`` or ``(C, L)`` with probability ``p``."""

    def forward(self, input):
        return F.dropout1d(input, self.p, self.training)


class Dropout3d(_DropoutNd):
    """Zero whole channels of ``(N, C, D, H, W)`` or ``(C, D, H, W)`` with probability ``p``."""

    def forward(self, input):
        return F.dropout3d(input, self.p, self.training)


__all__ = ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d"]
