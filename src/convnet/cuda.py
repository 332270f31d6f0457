"""``convnet.cuda``: the answers a CPU-only build gives (no GPU backend yet)."""
from __future__ import annotations

from .device import NO_GPU

__all__ = ["is_available", "device_count", "manual_seed", "manual_seed_all", "synchronize",
           "current_device", "empty_cache"]


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0


def manual_seed(seed):
    """Nothing to seed without a GPU (kept so training scripts run unchanged)."""


manual_seed_all = manual_seed


def synchronize(device=None):
    """Nothing to wait for without a GPU."""


def empty_cache():
    """Nothing to free without a GPU."""


def current_device():
    raise RuntimeError(f"cuda.current_device: {NO_GPU}")
