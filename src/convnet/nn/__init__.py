"""Layers (Modules holding Parameters) over ``convnet.functional``; PyTorch's names."""
from . import init  # noqa: F401
from .module import Module, Parameter  # noqa: F401
from .container import Flatten, Identity, ModuleList, Sequential  # noqa: F401
