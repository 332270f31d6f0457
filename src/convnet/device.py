"""``convnet.device``: where a tensor lives, like ``torch.device``.

convnet computes with NumPy, so every tensor is on the CPU. ``device("cuda")`` can be built (so
scripts that pick a device still run), but moving anything to it raises :class:`RuntimeError`.
"""
from __future__ import annotations

__all__ = ["device", "as_device", "check_device", "NO_GPU"]

NO_GPU = "convnet runs on the CPU only (NumPy); no GPU backend yet"

_KNOWN = ("cpu", "cuda", "mps", "xpu", "meta", "hip", "xla", "mtia", "privateuseone")


class device:
    """A device: ``device("cpu")``, ``device("cpu:0")``, ``device("cuda", 0)`` or another device.

    Attributes:
        type: ``"cpu"``, ``"cuda"``, ...
        index: the device index, or ``None``.

    Example:
        >>> device("cpu")
        device(type='cpu')
    """

    __slots__ = ("type", "index")

    def __init__(self, type, index=None):
        if isinstance(type, device):
            if index is not None:
                raise ValueError("device: index must not be given with a device object")
            self.type, self.index = type.type, type.index
            return
        if not isinstance(type, str):
            raise TypeError(f"device: expected a string or a device, got {type.__class__.__name__}")
        name, sep, idx = type.partition(":")
        if name not in _KNOWN:
            raise RuntimeError(f"device: expected one of {', '.join(_KNOWN)} device type at start of "
                               f"device string: {type!r}")
        if sep:
            if index is not None:
                raise RuntimeError(f"device: type {type!r} already has an index; do not pass index")
            if not idx.isdigit():
                raise RuntimeError(f"device: invalid device string {type!r}")
            index = int(idx)
        if index is not None and (not isinstance(index, int) or index < 0):
            raise RuntimeError(f"device: index must be a non-negative integer, got {index!r}")
        self.type, self.index = name, index

    def __eq__(self, other):
        if isinstance(other, str):
            try:
                other = device(other)
            except (RuntimeError, ValueError):
                return False
        return isinstance(other, device) and self.type == other.type and self.index == other.index

    def __hash__(self):
        return hash((self.type, self.index))

    def __repr__(self):
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"


CPU = device("cpu")


def as_device(d):
    """``d`` (a string, a device or an int index) as a :class:`device`."""
    if isinstance(d, device):
        return d
    if isinstance(d, int) and not isinstance(d, bool):
        return device("cuda", d)  # torch reads a bare int as a CUDA ordinal
    return device(d)


def check_device(d, what="to"):
    """Return the CPU device for ``d`` or raise RuntimeError for any other device."""
    d = as_device(d)
    if d.type != "cpu":
        raise RuntimeError(f"{what}: cannot use device {str(d)!r}: {NO_GPU}")
    return CPU
