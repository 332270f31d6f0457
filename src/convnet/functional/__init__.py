"""Stateless ops with PyTorch's names and argument meanings (``torch.nn.functional``).

``import convnet.functional as F``. Each family lives in its own module; the primitives with
their hand-written backward are in ``convnet.ops``.
"""
from ..ops.movement import pad  # noqa: F401
from .activation import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .pool import *  # noqa: F401,F403
from .norm import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .interpolate import *  # noqa: F401,F403
from .sparse import *  # noqa: F401,F403
from .pixelshuffle import *  # noqa: F401,F403
from .distance import *  # noqa: F401,F403
from .divergence import *  # noqa: F401,F403
from .unpool import *  # noqa: F401,F403
