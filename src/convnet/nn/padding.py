"""Padding layers over ``F.pad`` (``torch.nn.ZeroPad2d`` and friends).

``padding`` is an int (the same on every side) or a tuple listing (left, right) pairs from the
LAST dim backwards: ``(left, right)`` for 1-D, ``(left, right, top, bottom)`` for 2-D,
``(left, right, top, bottom, front, back)`` for 3-D, as torch.
"""
from __future__ import annotations

import numbers

from .. import functional as F
from .module import Module


class _PadNd(Module):
    _dims = 2
    mode = "constant"

    def __init__(self, padding, value=0.0):
        super().__init__()
        k = 2 * self._dims
        if isinstance(padding, numbers.Integral):
            padding = (int(padding),) * k
        padding = tuple(padding)
        if len(padding) != k or not all(isinstance(p, numbers.Integral) for p in padding):
            raise ValueError(f"{type(self).__name__}: padding must be an int or {k} ints, got {padding}")
        self.padding, self.value = padding, value

    def forward(self, input):
        if input.ndim not in (self._dims + 1, self._dims + 2):
            raise ValueError(f"{type(self).__name__}: expected a {self._dims + 1}-D or {self._dims + 2}-D input, "
                             f"got shape {input.shape}")
        if self.mode == "constant":
            return F.pad(input, self.padding, mode="constant", value=self.value)
        return F.pad(input, self.padding, mode=self.mode)

    def extra_repr(self):
        return f"{self.padding}" + (f", value={self.value}" if self.mode == "constant" else "")


def _make(name, dims, mode, doc, has_value):
    if has_value:
        def __init__(self, padding, value):
            _PadNd.__init__(self, padding, value)
    else:
        def __init__(self, padding):
            _PadNd.__init__(self, padding)
    return type(name, (_PadNd,), {"_dims": dims, "mode": mode, "__init__": __init__, "__doc__": doc,
                                  "__module__": __name__})


ZeroPad1d = _make("ZeroPad1d", 1, "constant", "Pad ``(N, C, L)`` with zeros.", False)
ZeroPad2d = _make("ZeroPad2d", 2, "constant", "Pad ``(N, C, H, W)`` with zeros.", False)
ZeroPad3d = _make("ZeroPad3d", 3, "constant", "Pad ``(N, C, D, H, W)`` with zeros.", False)
ConstantPad1d = _make("ConstantPad1d", 1, "constant", "Pad ``(N, C, L)`` with ``value``.", True)
ConstantPad2d = _make("ConstantPad2d", 2, "constant", "Pad ``(N, C, H, W)`` with ``value``.", True)
ConstantPad3d = _make("ConstantPad3d", 3, "constant", "Pad ``(N, C, D, H, W)`` with ``value``.", True)
ReflectionPad1d = _make("ReflectionPad1d", 1, "reflect", "Mirror ``(N, C, L)`` (edge not repeated).", False)
ReflectionPad2d = _make("ReflectionPad2d", 2, "reflect", "Mirror ``(N, C, H, W)`` (edge not repeated).", False)
ReflectionPad3d = _make("ReflectionPad3d", 3, "reflect", "Mirror ``(N, C, D, H, W)``.", False)
ReplicationPad1d = _make("ReplicationPad1d", 1, "replicate", "Repeat the edge of ``(N, C, L)``.", False)
ReplicationPad2d = _make("ReplicationPad2d", 2, "replicate", "Repeat the edge of ``(N, C, H, W)``.", False)
ReplicationPad3d = _make("ReplicationPad3d", 3, "replicate", "Repeat the edge of ``(N, C, D, H, W)``.", False)
CircularPad1d = _make("CircularPad1d", 1, "circular", "Wrap ``(N, C, L)`` around.", False)
CircularPad2d = _make("CircularPad2d", 2, "circular", "Wrap ``(N, C, H, W)`` around.", False)
CircularPad3d = _make("CircularPad3d", 3, "circular", "Wrap ``(N, C, D, H, W)`` around.", False)

__all__ = ["ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "ConstantPad1d", "ConstantPad2d", "ConstantPad3d",
           "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d", "ReplicationPad1d", "ReplicationPad2d",
           "ReplicationPad3d", "CircularPad1d", "CircularPad2d", "CircularPad3d"]
