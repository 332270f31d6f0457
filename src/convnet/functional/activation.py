"""Activations: PyTorch names; the primitives and their backward live in ``convnet.ops.activation``."""
from ..ops.activation import leaky_relu, log_softmax, relu, sigmoid, softmax, softplus, tanh  # noqa: F401
from ..ops.elementwise import abs  # noqa: F401  (the notes' |x| rectification)

__all__ = ["relu", "leaky_relu", "sigmoid", "tanh", "softplus", "softmax", "log_softmax", "abs"]
