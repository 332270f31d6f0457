"""``convnet.utils``: PyTorch's ``torch.utils`` namespace (``convnet.utils.data``)."""
from . import data  # noqa: F401
