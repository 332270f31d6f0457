"""Worker processes for ``DataLoader(num_workers=N)``: load and augment batches in parallel.

Design (as ``torch.utils.data``): one index queue per worker and one shared result queue. The main
process hands out batch ``b`` to worker ``b % N`` (at most ``prefetch_factor`` batches ahead per
worker) and yields results in batch order, whatever order they arrive in.

Reproducibility: each task carries the batch's own seed (derived from the loader's generator, the
epoch and the batch index, see ``loader.batch_generator``); the worker installs a generator seeded
with it as the global generator while it fetches and transforms the batch. A batch therefore gets
the same random augmentation whichever worker (or the main process, ``num_workers=0``) builds it.

Transport: a batch's large arrays (``cn.Tensor``s of at least 64 KiB, e.g. the ``(B, C, H, W)`` images)
travel through shared memory: the worker writes each to a fresh file in ``/dev/shm`` (tmpfs) and sends
its name, the main process reads it back and deletes the file. Pickling them through the queue's pipe cost the main
process ~1 ms per 128x1x32x32 batch (64 KiB pipe reads), on the training loop's critical path; the
shared-memory copy costs ~0.1 ms. Everything else (labels, small batches, other objects) is pickled.

Threads: each worker limits its BLAS / OpenMP pools to one thread (``threadpoolctl``, when installed),
as PyTorch's workers do, so N workers use N cores and leave the rest to the training step.

Shutdown: ``WorkerPool.shutdown`` sends every worker a stop message, joins it (terminating any that
does not stop within a few seconds) and closes the queues. The iterator calls it when the epoch
ends, when the loop is left early (``break`` drops the iterator and ``__del__`` runs), and when an
error is raised; persistent pools are shut down when their ``DataLoader`` is garbage collected.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import queue
import random
import sys
import traceback
from dataclasses import dataclass

import numpy as np

from .. import _backend
from ..tensor import Tensor

__all__ = ["WorkerInfo", "get_worker_info", "WorkerPool", "WorkerError"]

_worker_info = None
_POLL_S = 1.0
_JOIN_S = 5.0
_SHM_MIN_BYTES = 1 << 16
_SHM_DIR = "/dev/shm"


class _Shared:
    """An array a worker wrote to a file in ``/dev/shm`` (memory, not disk): ``(path, shape, dtype)``.

    Plain files rather than ``multiprocessing.shared_memory``: that module reports every block to its
    resource-tracker process (two pipe writes per batch that cost more than they save here).
    """

    __slots__ = ("path", "shape", "dtype")
    _count = 0

    def __init__(self, arr):
        _Shared._count += 1
        self.path = os.path.join(_SHM_DIR, f"convnet-loader-{os.getppid()}-{os.getpid()}-{_Shared._count}")
        self.shape, self.dtype = arr.shape, arr.dtype.str
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb", closefd=False) as f:
                f.write(memoryview(arr).cast("B"))
        except BaseException:
            os.unlink(self.path)
            raise
        finally:
            os.close(fd)

    def __getstate__(self):
        return self.path, self.shape, self.dtype

    def __setstate__(self, state):
        self.path, self.shape, self.dtype = state

    def take(self):
        """Read the array back and delete the file (main process)."""
        try:
            return np.fromfile(self.path, np.dtype(self.dtype)).reshape(self.shape)
        finally:
            os.unlink(self.path)


def _pack(out):
    """Worker side: large plain tensors of a ``(tuple|list)`` batch -> ``_Shared`` references."""
    if type(out) not in (tuple, list):
        return out
    packed = []
    for v in out:
        if (type(v) is Tensor and v._ctx is None and v.grad is None and not getattr(v, "requires_grad", False)
                and isinstance(v._data, np.ndarray) and v._data.nbytes >= _SHM_MIN_BYTES and os.path.isdir(_SHM_DIR)
                and v._data.dtype.kind in "biuf"):
            try:
                v = _Shared(np.ascontiguousarray(v._data))
            except OSError:  # no shared memory (e.g. /dev/shm full): pickle it
                pass
        packed.append(v)
    return type(out)(packed)


def _unpack(out):
    """Main side: ``_Shared`` references -> tensors (blocks unlinked)."""
    if type(out) not in (tuple, list) or not any(type(v) is _Shared for v in out):
        return out
    return type(out)(Tensor._wrap(v.take(), False) if type(v) is _Shared else v for v in out)


def _limit_threads():
    """One BLAS / OpenMP thread per worker (as PyTorch's workers), when threadpoolctl is installed."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    return threadpool_limits(1)


# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def _keep_freed_memory():
    """Let the worker's allocator reuse freed blocks instead of returning them to the system.

    Each augmented batch allocates and frees the same ~1 MB temporaries (coordinate maps, fields); glibc
    serves blocks of that size with ``mmap`` and unmaps them on ``free``, so every batch page-faults them
    in again (~1.5 ms of a ~5 ms affine + elastic batch of 128 MNIST images). Raising the mmap and trim
    thresholds to 32 MB keeps them in the heap. Only in the worker processes; a no-op off glibc.
    """
    try:
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, 32 << 20)) and bool(mallopt(_M_TRIM_THRESHOLD, 64 << 20))


@dataclass(frozen=True)
class WorkerInfo:
    """What ``get_worker_info()`` returns inside a worker: ``id``, ``num_workers``, ``seed``, ``dataset``."""

    id: int
    num_workers: int
    seed: int
    dataset: object


def get_worker_info():
    """``WorkerInfo`` of the current worker process, or ``None`` in the main process."""
    return _worker_info


class WorkerError:
    """An exception raised in a worker, carried to the main process with its traceback text."""

    def __init__(self, worker_id, exc):
        self.worker_id = worker_id
        self.exc_type = type(exc)
        lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
        self.text = "".join(lines[1:] if lines[0].startswith("Traceback") else lines)

    def reraise(self):
        msg = (f"Caught {self.exc_type.__name__} in DataLoader worker process {self.worker_id}.\n"
               f"Original Traceback (most recent call last):\n{self.text}")
        try:
            err = self.exc_type(msg)
        except Exception:  # exception types whose constructor needs other arguments
            err = RuntimeError(msg)
        raise err


def _worker_loop(worker_id, num_workers, base_seed, fetch, index_queue, result_queue, init_fn, dataset):
    """Body of one worker process: take ``(epoch_id, b, indices, seed)`` tasks until ``None``."""
    global _worker_info
    seed = (base_seed + worker_id) % 2**32
    _worker_info = WorkerInfo(worker_id, num_workers, seed, dataset)
    random.seed(seed)
    np.random.seed(seed)
    _backend.manual_seed(seed)
    _limit_threads()  # stays in force for the worker's lifetime (only an explicit restore undoes it)
    _keep_freed_memory()
    try:
        if init_fn is not None:
            init_fn(worker_id)
    except Exception as e:  # reported with the first task's answer
        init_error = WorkerError(worker_id, e)
    else:
        init_error = None
    while True:
        try:
            task = index_queue.get(timeout=_POLL_S)
        except queue.Empty:
            if os.getppid() == 1:  # the main process died: leave
                break
            continue
        if task is None:
            break
        epoch_id, b, indices, batch_seed = task
        if init_error is not None:
            result_queue.put((epoch_id, b, init_error))
            continue
        try:
            out = _pack(fetch(indices, batch_seed))
        except Exception as e:
            out = WorkerError(worker_id, e)
        result_queue.put((epoch_id, b, out))
    result_queue.cancel_join_thread()
    result_queue.close()


def _context():
    methods = mp.get_all_start_methods()
    return mp.get_context("fork" if "fork" in methods and sys.platform.startswith("linux") else None)


class WorkerPool:
    """``num_workers`` processes running ``fetch(indices, batch_seed) -> batch``."""

    def __init__(self, num_workers, fetch, dataset, base_seed, worker_init_fn=None):
        ctx = _context()
        self.num_workers = num_workers
        self.result_queue = ctx.Queue()
        self.index_queues = []
        self.workers = []
        self.alive = True
        for w in range(num_workers):
            iq = ctx.Queue()
            p = ctx.Process(target=_worker_loop, daemon=True,
                            args=(w, num_workers, base_seed, fetch, iq, self.result_queue, worker_init_fn, dataset))
            p.start()
            self.index_queues.append(iq)
            self.workers.append(p)

    def put(self, worker_id, task):
        self.index_queues[worker_id].put(task)

    def get(self, timeout):
        """Next ``(epoch_id, b, batch)``; raises RuntimeError on timeout or when a worker died."""
        waited = 0.0
        while True:
            step = _POLL_S if not timeout else min(_POLL_S, timeout - waited)
            try:
                epoch_id, b, out = self.result_queue.get(timeout=step)
                return epoch_id, b, _unpack(out)
            except queue.Empty:
                waited += step
                dead = [p for p in self.workers if not p.is_alive()]
                if dead:
                    codes = ", ".join(f"pid {p.pid} exit code {p.exitcode}" for p in dead)
                    raise RuntimeError(f"DataLoader worker(s) exited unexpectedly ({codes})") from None
                if timeout and waited >= timeout:
                    raise RuntimeError(f"DataLoader timed out after {timeout} seconds waiting for a batch") from None

    def shutdown(self):
        if not self.alive:
            return
        self.alive = False
        for iq, p in zip(self.index_queues, self.workers):
            if p.is_alive():
                try:
                    iq.put(None)
                except (OSError, ValueError):
                    pass
        for p in self.workers:
            p.join(timeout=_JOIN_S)
            if p.is_alive():
                p.terminate()
                p.join()
        # batches nobody will read: delete their files by name (reading the queue could block on a
        # message a terminated worker left half-written)
        for p in self.workers:
            prefix = f"convnet-loader-{os.getpid()}-{p.pid}-"
            for name in (os.listdir(_SHM_DIR) if os.path.isdir(_SHM_DIR) else []):
                if name.startswith(prefix):
                    try:
                        os.unlink(os.path.join(_SHM_DIR, name))
                    except OSError:
                        pass
        for q in self.index_queues + [self.result_queue]:
            q.cancel_join_thread()
            q.close()

    def __del__(self):
        try:
            self.shutdown()
        except Exception:  # interpreter shutdown: modules may already be gone
            pass
