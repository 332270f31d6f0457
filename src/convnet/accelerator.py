"""``convnet.accelerator``: no accelerator is available (convnet runs on the CPU with NumPy)."""
from __future__ import annotations

__all__ = ["is_available", "current_accelerator", "device_count"]


def is_available() -> bool:
    return False


def current_accelerator(check_available=False):
    """The accelerator in use: ``None``, since convnet has none."""
    return None


def device_count() -> int:
    return 0
