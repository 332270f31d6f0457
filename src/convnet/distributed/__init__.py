"""Collective communication between processes, with ``torch.distributed``'s names (MPI underneath).

One process per rank, started by ``mpirun``; every rank runs the same script::

    import convnet.distributed as dist
    dist.init_process_group("mpi")            # or "single": one process, no MPI needed
    x = cn.ones(3) * dist.get_rank()
    dist.all_reduce(x, op=dist.ReduceOp.SUM)  # in place, on every rank: 0 + 1 + ... + (N - 1)

``mpirun -n 2 python script.py`` (as root add ``--allow-run-as-root``; on one machine with fewer
cores than ranks ``--oversubscribe``). ``mpi4py`` is imported only by ``init_process_group("mpi")``
(the optional extra ``convnet[mpi]``); ``import convnet`` never imports it.

Every blocking collective waits with a deadline (``timeout`` of ``init_process_group``, default
30 minutes): when a rank has died or hangs, the others print one line naming the collective and
abort the whole job (``MPI_Abort``) instead of waiting for ever. An uncaught exception on any
rank also aborts the job after its traceback is printed.
"""
from __future__ import annotations

from ._backend import ReduceOp, Work
from .collectives import (all_gather, all_gather_object, all_reduce, barrier, broadcast, broadcast_object,
                          destroy_process_group, get_backend, get_rank, get_world_size, init_process_group,
                          is_available, is_initialized, is_mpi_available)

__all__ = ["ReduceOp", "Work", "init_process_group", "destroy_process_group", "is_initialized", "is_available",
           "is_mpi_available", "get_backend", "get_rank", "get_world_size", "barrier", "all_reduce", "broadcast",
           "all_gather", "all_gather_object", "broadcast_object"]
