"""Fixtures of the detection tests (synthetic MNIST files, see detection_fakes)."""
from detection_fakes import fake_mnist  # noqa: F401
