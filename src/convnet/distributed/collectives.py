"""``init_process_group`` and the collectives on Tensors (``torch.distributed``'s signatures).

Collectives change their Tensor in place on every rank (``all_reduce``, ``broadcast``) or fill a
list (``all_gather``); ``async_op=True`` returns a :class:`Work` to ``wait()`` on. The ``*_object``
collectives carry JSON-able values as JSON text (torch pickles them; convnet never pickles).
"""
from __future__ import annotations

import datetime
import json

import numpy as np

from ._backend import ReduceOp, Work, _MPI, _Single, mpi_launched

_group = [None]  # the default process group's backend once initialised

DEFAULT_TIMEOUT = datetime.timedelta(minutes=30)


def is_available() -> bool:
    return True


def is_mpi_available() -> bool:
    """True when mpi4py can be imported (it is not imported by this check's caller otherwise)."""
    import importlib.util

    return importlib.util.find_spec("mpi4py") is not None


def init_process_group(backend=None, init_method=None, timeout=None, world_size=-1, rank=-1, **kwargs):
    """Join the default process group.

    Args:
        backend: ``"mpi"`` (mpi4py's ``COMM_WORLD``; start the processes with ``mpirun``), ``"single"``
            (one process, no MPI) or None: ``"mpi"`` when an MPI launcher started this process,
            else ``"single"``.
        timeout: deadline of every blocking collective, a ``datetime.timedelta`` or seconds
            (default 30 minutes); past it the job is aborted with a message naming the collective.
        world_size, rank: as torch; with MPI they come from the launcher and, when given, must agree.

    Raises:
        RuntimeError: already initialised, or MPI requested without mpi4py.
        ValueError: an unknown backend, or world_size/rank that contradict the launcher.
    """
    if _group[0] is not None:
        raise RuntimeError("init_process_group: the default process group is already initialized "
                           "(call destroy_process_group first)")
    if backend is None:
        backend = "mpi" if mpi_launched() else "single"
    backend = str(backend).lower()
    if backend not in ("mpi", "single"):
        raise ValueError(f"init_process_group: backend must be 'mpi' or 'single', received {backend!r}")
    seconds = (timeout if timeout is not None else DEFAULT_TIMEOUT)
    seconds = seconds.total_seconds() if isinstance(seconds, datetime.timedelta) else float(seconds)
    if not seconds > 0:
        raise ValueError(f"init_process_group: timeout must be positive, received {timeout!r}")
    group = _MPI(seconds) if backend == "mpi" else _Single(seconds)
    for name, given, actual in (("world_size", world_size, group.size), ("rank", rank, group.rank)):
        if given is not None and given != -1 and given != actual:
            group.close()
            raise ValueError(f"init_process_group: {name}={given} but the {backend} launcher says {actual}")
    _group[0] = group


def destroy_process_group(group=None):
    """Leave the default group (MPI itself is finalised when the process exits)."""
    if _group[0] is not None:
        _group[0].close()
    _group[0] = None


def is_initialized() -> bool:
    return _group[0] is not None


def _get(name):
    if _group[0] is None:
        raise RuntimeError(f"{name}: the default process group has not been initialized; "
                           "call convnet.distributed.init_process_group first")
    return _group[0]


def get_backend(group=None) -> str:
    return _get("get_backend").name


def get_rank(group=None) -> int:
    """This process's rank (0 .. world_size - 1)."""
    return _get("get_rank").rank


def get_world_size(group=None) -> int:
    return _get("get_world_size").size


def barrier(group=None, async_op=False):
    _get("barrier").barrier()


def _buffer(tensor, name):
    """``(array to communicate, write-back)``: the tensor's own memory when C-contiguous, else a copy."""
    a = tensor._data
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name}: expected a convnet Tensor on the CPU, received {type(tensor).__name__}")
    if a.flags.c_contiguous and a.flags.writeable:
        return a, None
    buf = np.ascontiguousarray(a)

    def write_back():
        tensor._data[...] = buf
    return buf, write_back


def _done(work, async_op):
    if async_op:
        return work
    work.wait()
    return None


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Combine ``tensor`` over all ranks with ``op``; every rank receives the result in place.

    ``ReduceOp.AVG`` is the sum divided by the world size (floating-point tensors only).
    """
    g = _get("all_reduce")
    if not isinstance(op, ReduceOp):
        raise TypeError(f"all_reduce: op must be a ReduceOp (SUM, AVG, MAX, MIN, PRODUCT), received {op!r}")
    buf, write_back = _buffer(tensor, "all_reduce")
    if op is ReduceOp.AVG and buf.dtype.kind != "f":
        raise TypeError(f"all_reduce: ReduceOp.AVG needs a floating-point tensor, received dtype {buf.dtype}")

    def finish():
        if op is ReduceOp.AVG and g.size > 1:
            buf[...] /= g.size
        if write_back is not None:
            write_back()
    work = g.iallreduce(buf, op)
    work._finish = finish
    if work._done:
        finish()
    return _done(work, async_op)


def broadcast(tensor, src=0, group=None, async_op=False):
    """Copy rank ``src``'s ``tensor`` into ``tensor`` on every other rank (same shape and dtype)."""
    g = _get("broadcast")
    if not 0 <= src < g.size:
        raise ValueError(f"broadcast: src must be a rank in 0..{g.size - 1}, received {src}")
    buf, write_back = _buffer(tensor, "broadcast")
    work = g.ibcast(buf, src)
    work._finish = write_back
    if work._done and write_back is not None:
        write_back()
    return _done(work, async_op)


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """Fill ``tensor_list`` (one Tensor per rank, shaped like ``tensor``) with every rank's ``tensor``."""
    g = _get("all_gather")
    if len(tensor_list) != g.size:
        raise ValueError(f"all_gather: tensor_list must hold world_size={g.size} tensors, received "
                         f"{len(tensor_list)}")
    src = np.ascontiguousarray(tensor._data)
    for i, t in enumerate(tensor_list):
        if t.shape != tensor.shape or t._data.dtype != src.dtype:
            raise ValueError(f"all_gather: tensor_list[{i}] has shape {tuple(t.shape)} and dtype {t._data.dtype}, "
                             f"expected {tuple(tensor.shape)} and {src.dtype} (those of tensor)")
    out = np.empty((g.size,) + src.shape, src.dtype)  # (world_size, *tensor.shape)

    def finish():
        for i, t in enumerate(tensor_list):
            t._data[...] = out[i]
    work = g.iallgather(src, out)
    work._finish = finish
    if work._done:
        finish()
    return _done(work, async_op)


def all_gather_object(object_list, obj, group=None):
    """Fill ``object_list`` (length world_size) with every rank's ``obj`` (JSON-able; sent as JSON text)."""
    g = _get("all_gather_object")
    if len(object_list) != g.size:
        raise ValueError(f"all_gather_object: object_list must have world_size={g.size} entries, "
                         f"received {len(object_list)}")
    try:
        data = np.frombuffer(json.dumps(obj, allow_nan=False).encode(), np.uint8)
    except (TypeError, ValueError) as e:
        raise TypeError(f"all_gather_object: obj must be JSON-serialisable (convnet never pickles): {e}") from None
    size = np.array([data.size], np.int64)
    g.iallreduce(size, ReduceOp.MAX, "all_gather_object").wait()
    padded = np.zeros(int(size[0]) + 8, np.uint8)  # the length first (8 bytes), then the text
    padded[:8] = np.frombuffer(np.int64(data.size).tobytes(), np.uint8)
    padded[8:8 + data.size] = data
    out = np.empty((g.size, padded.size), np.uint8)  # (world_size, 8 + longest text)
    g.iallgather(padded, out, "all_gather_object").wait()
    for i in range(g.size):
        n = int(out[i, :8].view(np.int64)[0])
        object_list[i] = json.loads(out[i, 8:8 + n].tobytes().decode())


def broadcast_object(obj, src=0, group=None):
    """Rank ``src``'s JSON-able ``obj`` on every rank (returned; torch's ``broadcast_object_list`` for one)."""
    gathered = [None] * get_world_size()
    all_gather_object(gathered, obj if get_rank() == src else None)
    return gathered[src]


def _default_group():
    """The backend of the default group, or None (used by DistributedDataParallel and SyncBatchNorm)."""
    return _group[0]


__all__ = ["ReduceOp", "Work", "init_process_group", "destroy_process_group", "is_initialized", "get_backend",
           "get_rank", "get_world_size", "barrier", "all_reduce", "broadcast", "all_gather", "all_gather_object",
           "broadcast_object", "is_available", "is_mpi_available"]
