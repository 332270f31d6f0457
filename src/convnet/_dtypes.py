"""``convnet.dtype``: torch-style dtype objects (``convnet.float32``, ``convnet.long``, ...).

Each wraps a NumPy dtype: it prints as ``convnet.float32``, compares equal to (and hashes like)
the NumPy dtype in both directions, and is accepted wherever NumPy takes a dtype (NumPy reads
its ``.dtype`` attribute), so ``np.zeros(3, dtype=cn.float32)`` and ``a.astype(t.dtype)`` work.
Attributes NumPy dtypes have (``kind``, ``char``, ``type``, ``name``) are forwarded.
"""
from __future__ import annotations

import numpy as np

__all__ = ["dtype", "as_dtype", "get_default_dtype", "set_default_dtype"]


class dtype:
    """One element type, like ``torch.dtype``. Build them with :func:`as_dtype`, not directly."""

    __slots__ = ("_np", "_name")

    def __init__(self, np_dtype, name):
        object.__setattr__(self, "_np", np.dtype(np_dtype))
        object.__setattr__(self, "_name", name)

    @property
    def dtype(self):
        """The NumPy dtype (what NumPy reads when this object is passed as ``dtype=``)."""
        return self._np

    @property
    def is_floating_point(self):
        return self._np.kind == "f"

    @property
    def is_complex(self):
        return self._np.kind == "c"

    @property
    def is_signed(self):
        return self._np.kind in "fic"

    @property
    def itemsize(self):
        return self._np.itemsize

    def __getattr__(self, name):  # kind, char, type, name, str, ... of the NumPy dtype
        return getattr(object.__getattribute__(self, "_np"), name)

    def __setattr__(self, name, value):
        raise AttributeError("convnet dtypes are immutable")

    def __eq__(self, other):
        if isinstance(other, dtype):
            return self._np == other._np
        if other is None or isinstance(other, (int, float)):
            return False  # np.dtype(None) is float64; None is no dtype
        try:
            return self._np == np.dtype(other)
        except TypeError:
            return NotImplemented

    def __ne__(self, other):
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __hash__(self):
        return hash(self._np)

    def __repr__(self):
        return f"convnet.{self._name}"

    __str__ = __repr__

    def __reduce__(self):
        return as_dtype, (self._np.str,)


float32 = dtype(np.float32, "float32")
float64 = dtype(np.float64, "float64")
float16 = dtype(np.float16, "float16")
int64 = dtype(np.int64, "int64")
int32 = dtype(np.int32, "int32")
int16 = dtype(np.int16, "int16")
int8 = dtype(np.int8, "int8")
uint8 = dtype(np.uint8, "uint8")
bool_ = dtype(np.bool_, "bool")

_BY_NP = {d._np: d for d in (float32, float64, float16, int64, int32, int16, int8, uint8, bool_)}


def as_dtype(d):
    """The convnet dtype for ``d`` (a convnet dtype, a NumPy dtype, a scalar type or a name).

    A NumPy dtype convnet has no object for (e.g. ``uint16``, ``complex64``) is returned as is.
    """
    if isinstance(d, dtype):
        return d
    nd = np.dtype(d)
    return _BY_NP.get(nd, nd)


_default = [float32]


def get_default_dtype():
    """The floating dtype new float tensors get (float32 unless changed)."""
    return _default[0]


def set_default_dtype(d):
    """Set the default floating dtype: ``convnet.float32`` or ``convnet.float64`` only.

    Only the value ``get_default_dtype`` reports and the dtype of ``randn``/``rand``/``zeros``-style
    factories without an explicit ``dtype``; Python floats in ``tensor([...])`` follow it too.
    """
    d = as_dtype(d) if d is not None else None
    if d not in (float32, float64):
        raise TypeError(f"set_default_dtype: only convnet.float32 or convnet.float64 are supported, got {d}")
    _default[0] = d
