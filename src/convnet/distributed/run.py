"""Helpers for running one program on every rank: a context only rank 0 enters, and the rank's role."""
from __future__ import annotations

import contextlib

import numpy as np

from ._backend import ReduceOp
from .collectives import _get


@contextlib.contextmanager
def rank_zero_context(make_context):
    """Rank 0 enters ``make_context()`` (e.g. the run directory's lock); every rank learns whether it
    could. Rank 0 re-raises its own error; the others raise a ``RuntimeError`` pointing to it."""
    group = _get("rank_zero_context")
    with contextlib.ExitStack() as stack:
        ok, error = np.ones(1, np.int64), None
        if group.rank == 0:
            try:
                stack.enter_context(make_context())
            except Exception as e:  # told to every rank below, then raised here
                ok[0], error = 0, e
        group.iallreduce(ok, ReduceOp.MIN, "rank_zero_context").wait()
        if error is not None:
            raise error
        if not ok[0]:
            raise RuntimeError(f"rank {group.rank}: rank 0 could not start (its message says why)")
        yield
