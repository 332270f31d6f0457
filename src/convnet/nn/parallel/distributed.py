"""``DistributedDataParallel``: one model replica per process, gradients averaged by all-reduce.

Every rank holds the same weights (rank 0's parameters and buffers are broadcast at construction),
runs forward and backward on its own share of the batch, and the gradients are averaged over the
ranks before ``optimizer.step()``, so every replica takes the same step: the one a single process
would take on the whole batch (the mean loss over B samples = the mean of the ranks' mean losses
over B/N samples each).

The gradients are reduced in **buckets** of about ``bucket_cap_mb`` MiB, in the reverse order of
``model.parameters()`` (roughly the order backward produces them). A post-accumulate-grad hook on
each parameter copies its finished gradient into its bucket; the bucket's non-blocking all-reduce
(``MPI_Iallreduce``) starts as soon as its last gradient arrives, while backward goes on through
the earlier layers. When the last bucket has started, the hook waits for all of them and writes
the averages back into ``p.grad``.
"""
from __future__ import annotations

import contextlib
import time

import numpy as np

from ..module import Module


class _Bucket:
    """A flat buffer of some parameters' gradients, all-reduced as one message."""

    def __init__(self, params, dtype):
        self.params = params
        self.offsets, n = [], 0
        for p in params:
            self.offsets.append(n)
            n += p._data.size
        self.flat = np.zeros(n, dtype)  # (sum of the parameters' sizes,)
        self.pending = len(params)
        self.work = None


class DistributedDataParallel(Module):
    """Wrap ``module`` for data-parallel training (``torch.nn.parallel.DistributedDataParallel``).

    Call ``convnet.distributed.init_process_group`` first; each rank then builds the same model,
    wraps it, and feeds it its own part of the data (``data.DistributedSampler``).

    Args:
        module: the model replica.
        device_ids, output_device, dim: accepted for torch compatibility (CPU only, batch dim 0).
        broadcast_buffers: broadcast rank 0's buffers (BatchNorm running statistics) before every
            forward in training mode, as torch does.
        bucket_cap_mb: bucket size in MiB (default 25, as torch).
        find_unused_parameters: accepted; parameters that get no gradient in a backward make the
            next forward raise (as torch without this flag), since their bucket never completes.

    Attributes:
        module: the wrapped model (``ddp.module.state_dict()`` has the model's own keys).
        comm_stats: totals since the last ``reset_comm_stats()``: ``"wait"`` (seconds backward
            blocked on the all-reduces after the last bucket started: the exposed communication),
            ``"in_flight"`` (seconds, summed over buckets, between a bucket's start and the end of
            backward: communication that could overlap computation), ``"steps"``, ``"bytes"`` reduced.

    Example:
        >>> import convnet.distributed as dist
        >>> dist.init_process_group("single")
        >>> ddp = cn.nn.parallel.DistributedDataParallel(cn.nn.Linear(4, 2))
        >>> ddp(cn.randn(3, 4)).sum().backward()
    """

    def __init__(self, module, device_ids=None, output_device=None, dim=0, broadcast_buffers=True,
                 process_group=None, bucket_cap_mb=25, find_unused_parameters=False, check_reduction=False,
                 gradient_as_bucket_view=False, static_graph=False):
        super().__init__()
        from ... import distributed as dist  # the application layer, only when a model is wrapped

        self._group = dist.collectives._get("DistributedDataParallel")
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: module must be a convnet.nn.Module, received "
                            f"{type(module).__name__}")
        if dim != 0:
            raise ValueError(f"DistributedDataParallel: only dim=0 (the batch dimension) is supported, received {dim}")
        self.module = module
        self.broadcast_buffers = bool(broadcast_buffers)
        self.bucket_cap_mb = float(bucket_cap_mb)
        self.require_backward_grad_sync = True
        self._sync_module_states()
        self._params = [p for p in module.parameters() if p.requires_grad]
        self._buckets, self._bucket_of = self._build_buckets()
        self._launched = 0
        self._expect_reduction = False
        self.reset_comm_stats()
        for i, p in enumerate(self._params):
            hooks = p.__dict__.setdefault("_post_accumulate_grad_hooks", [])
            hooks.append(self._make_hook(i))

    # ------------------------------------------------------------------ set-up
    def _sync_module_states(self):
        """Every rank starts from rank 0's parameters and buffers."""
        states = [t for t in list(self.module.parameters()) + list(self.module.buffers()) if t is not None]
        works = [self._group.ibcast(self._contig(t), 0, "DistributedDataParallel: broadcast of rank 0's state")
                 for t in states]
        for w in works:
            w.wait()

    @staticmethod
    def _contig(t):
        a = t._data
        if not isinstance(a, np.ndarray) or not a.flags.c_contiguous or not a.flags.writeable:
            t._data = np.array(a, order="C")  # a NumPy scalar (a counter) or a strided view: own memory
        return t._data

    def _build_buckets(self):
        """Parameters in reverse registration order, cut into buckets of at most ``bucket_cap_mb`` (one dtype each)."""
        cap = self.bucket_cap_mb * 2 ** 20
        buckets, current, size = [], [], 0
        for p in reversed(self._params):
            if current and (size + p._data.nbytes > cap or p._data.dtype != current[0]._data.dtype):
                buckets.append(_Bucket(current, current[0]._data.dtype))
                current, size = [], 0
            current.append(p)
            size += p._data.nbytes
        if current:
            buckets.append(_Bucket(current, current[0]._data.dtype))
        where = {}
        for b, bucket in enumerate(buckets):
            for j, p in enumerate(bucket.params):
                where[id(p)] = (b, j)
        return buckets, [where[id(p)] for p in self._params]

    # ------------------------------------------------------------------ forward
    def forward(self, *inputs, **kwargs):
        if self._launched or any(b.pending != len(b.params) for b in self._buckets):
            raise RuntimeError(
                "DistributedDataParallel: the previous backward did not finish reducing the gradients: some "
                "parameters received no gradient (each rank must use every parameter in every iteration, or "
                "all ranks must skip the same ones), or backward was not called after a forward under sync")
        if self.broadcast_buffers and self.module.training and self._group.size > 1:
            works = [self._group.ibcast(self._contig(b), 0, "DistributedDataParallel: broadcast of buffers")
                     for b in self.module.buffers() if b is not None]
            for w in works:
                w.wait()
        return self.module(*inputs, **kwargs)

    @contextlib.contextmanager
    def no_sync(self):
        """Backward inside this block accumulates into ``p.grad`` locally without communicating;
        the first backward after it reduces the accumulated gradients (gradient accumulation)."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    # ------------------------------------------------------------------ the reducer
    def _make_hook(self, i):
        b, j = self._bucket_of[i]

        def hook(p):
            if self.require_backward_grad_sync:
                self._grad_ready(b, j, p)
        return hook

    def _grad_ready(self, b, j, p):
        bucket = self._buckets[b]
        off = bucket.offsets[j]
        bucket.flat[off:off + p._data.size] = p.grad._data.reshape(-1)
        bucket.pending -= 1
        if bucket.pending == 0:  # the bucket is complete: start its all-reduce, let backward go on
            from ...distributed import ReduceOp

            bucket.work = self._group.iallreduce(bucket.flat, ReduceOp.SUM, "DistributedDataParallel: gradient "
                                                 "all-reduce")
            bucket.started = time.perf_counter()
            self._launched += 1
            self.comm_stats["bytes"] += bucket.flat.nbytes
        for other in self._buckets:  # let MPI progress the messages in flight
            if other.work is not None:
                other.work.is_completed()
        if self._launched == len(self._buckets):
            self._finish_reduction()

    def _finish_reduction(self):
        end_of_backward = time.perf_counter()
        for bucket in self._buckets:
            bucket.work.wait()
        waited = time.perf_counter() - end_of_backward
        n = self._group.size
        for bucket in self._buckets:
            if n > 1:
                bucket.flat /= n
            for p, off in zip(bucket.params, bucket.offsets):
                p.grad._data = bucket.flat[off:off + p._data.size].reshape(p._data.shape).copy()
            self.comm_stats["in_flight"] += end_of_backward - bucket.started
            bucket.work, bucket.pending = None, len(bucket.params)
        self.comm_stats["wait"] += waited
        self.comm_stats["steps"] += 1
        self._launched = 0

    def reset_comm_stats(self):
        self.comm_stats = {"wait": 0.0, "in_flight": 0.0, "steps": 0, "bytes": 0}

    def extra_repr(self):
        return f"world_size={self._group.size}, buckets={len(self._buckets)}, bucket_cap_mb={self.bucket_cap_mb:g}"
