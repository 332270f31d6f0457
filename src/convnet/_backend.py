"""Array-module lookup and the global random generator.

Every op body takes its array module from its input (``xp = array_module(x)``) so that a
GPU array library with NumPy's API (CuPy) can drop in without touching the op code.
"""
from __future__ import annotations

import numpy as np

float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
float16 = np.dtype(np.float16)
int64 = np.dtype(np.int64)
int32 = np.dtype(np.int32)
uint8 = np.dtype(np.uint8)
bool_ = np.dtype(np.bool_)


def array_module(*arrays):
    """Return the array module (``numpy`` or e.g. ``cupy``) that owns the given arrays."""
    for a in arrays:
        mod = type(a).__module__.split(".")[0]
        if mod == "cupy":  # pragma: no cover - exercised only with a GPU
            import cupy

            return cupy
    return np


class _RNG:
    """Holder of the process-wide generator used by randn, dropout, init and shuffling."""

    def __init__(self, seed=None):
        self.gen = np.random.default_rng(seed)


_rng = _RNG()


def manual_seed(seed: int):
    """Seed every random draw convnet makes (initialisation, dropout, ``randn``, shuffling)."""
    _rng.gen = np.random.default_rng(int(seed))
    return _rng.gen


def default_generator() -> np.random.Generator:
    return _rng.gen


class Generator:
    """``torch.Generator``: a private random stream (a NumPy ``Generator`` inside).

    ``Generator().manual_seed(s)`` seeds it and returns it; pass it as ``generator=`` to
    ``randn``, ``rand``, ``randint``, ``randperm``, ``random_split`` and ``DataLoader``. It also
    answers NumPy's ``Generator`` methods (``permutation``, ``integers``, ...), so code that takes
    a NumPy generator takes it too.
    """

    def __init__(self, device="cpu"):
        self._seed = int(np.random.SeedSequence().entropy % 2**63)
        self.gen = np.random.default_rng(self._seed)
        self.device = device

    def manual_seed(self, seed):
        self._seed = int(seed)
        self.gen = np.random.default_rng(self._seed)
        return self

    def seed(self):
        """Re-seed from fresh entropy; returns the new seed."""
        self.manual_seed(np.random.SeedSequence().entropy % 2**63)
        return self._seed

    def initial_seed(self):
        return self._seed

    def get_state(self):
        return self.gen.bit_generator.state

    def set_state(self, state):
        bg = getattr(np.random, state["bit_generator"])()
        bg.state = state
        self.gen = np.random.Generator(bg)
        return self

    def __getattr__(self, name):  # NumPy Generator methods (permutation, integers, random, ...)
        if name == "gen":
            raise AttributeError(name)
        return getattr(self.gen, name)


def generator_of(generator, who="generator"):
    """The NumPy generator to draw from: ``generator``'s (a :class:`Generator` or a NumPy
    ``Generator``), else the global one that ``manual_seed`` controls."""
    if generator is None:
        return _rng.gen
    if isinstance(generator, Generator):
        return generator.gen
    if isinstance(generator, np.random.Generator):
        return generator
    raise TypeError(f"{who}: argument 'generator' must be a convnet.Generator or a numpy.random.Generator, "
                    f"got {type(generator).__name__}")


def get_rng_state() -> dict:
    """The generator's full state as a JSON-able dict (for resumable checkpoints)."""
    return _rng.gen.bit_generator.state


def set_rng_state(state: dict):
    bg = getattr(np.random, state["bit_generator"])()
    bg.state = state
    _rng.gen = np.random.Generator(bg)


def is_floating(dtype) -> bool:
    return np.dtype(dtype).kind == "f"
