"""``convnet.nn.functional`` is ``convnet.functional`` (PyTorch users reach for either path)."""
from ..functional import *  # noqa: F401,F403
from ..functional import __dict__ as _f

__all__ = [k for k in _f if not k.startswith("_")]
