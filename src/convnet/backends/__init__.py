"""``convnet.backends``: queries older scripts make (``backends.mps.is_available()``)."""
from . import cudnn, mps  # noqa: F401
