"""Run under ``mpirun -n 2``: data-parallel training equals single-process training on the whole batch.

Every rank trains float64 models four ways for 20 SGD-with-momentum steps on a fixed data set and
writes ``OUT/rank{r}.npz``: the weights after DistributedDataParallel (per-rank batch B/N), after
one process on batches of B (computed on every rank), and the collectives' results.

    plain:  a CNN without BatchNorm
    sync:   a CNN with BatchNorm converted to SyncBatchNorm (reference: BatchNorm on the full batch)
    accum:  two micro-batches of B/(2N) per rank and step, the first under no_sync()
    resume: 10 steps, rank 0 saves model + optimizer, every rank loads them into fresh objects, 10 more
"""
import os
import sys

import numpy as np

import convnet as cn
import convnet.distributed as dist
from convnet import nn
from convnet.checkpoint import load_training_state, save_training_state

B, STEPS = 16, 20


def make_model(batchnorm):
    cn.manual_seed(1 + dist.get_rank() * 100)  # different on each rank: DDP must broadcast rank 0's
    layers = [nn.Conv2d(1, 4, 3, padding=1)]
    layers += [nn.BatchNorm2d(4)] if batchnorm else []
    layers += [nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 4, 8), nn.Tanh(), nn.Linear(8, 3)]
    return nn.Sequential(*layers).double()


def reference_model(batchnorm):
    """The same initial weights as rank 0's model (the seed rank 0 uses)."""
    cn.manual_seed(1)
    layers = [nn.Conv2d(1, 4, 3, padding=1)]
    layers += [nn.BatchNorm2d(4)] if batchnorm else []
    layers += [nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 4, 8), nn.Tanh(), nn.Linear(8, 3)]
    return nn.Sequential(*layers).double()


rng = np.random.default_rng(0)
X = rng.standard_normal((B * STEPS, 1, 8, 8))
Y = rng.integers(0, 3, B * STEPS)
loss_fn = nn.CrossEntropyLoss()


def batch(step, lo, hi):
    i = step * B
    return cn.tensor(X[i + lo:i + hi]), cn.tensor(Y[i + lo:i + hi])


def sgd(params):
    return cn.optim.SGD(params, lr=0.1, momentum=0.9)


def train_reference(batchnorm, steps=STEPS):
    model = reference_model(batchnorm)
    opt = sgd(model.parameters())
    for s in range(steps):
        x, y = batch(s, 0, B)
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    return model


def train_ddp(model, opt, steps, micro=1, first=0):
    n, r = dist.get_world_size(), dist.get_rank()
    share = B // n
    for s in range(first, first + steps):
        opt.zero_grad()
        for m in range(micro):  # micro-batches of this rank's share; all but the last without sync
            lo = r * share + m * share // micro
            x, y = batch(s, lo, lo + share // micro)
            if m < micro - 1:
                with model.no_sync():
                    (loss_fn(model(x), y) / micro).backward()
            else:
                (loss_fn(model(x), y) / micro).backward()
        opt.step()


def state(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


def main(out):
    dist.init_process_group("mpi", timeout=60)
    r, n = dist.get_rank(), dist.get_world_size()
    result = {}

    # collectives
    t = cn.tensor([1.0 + r, -2.0 * r])
    for op in ("SUM", "AVG", "MAX", "MIN"):
        v = t.clone()
        dist.all_reduce(v, op=getattr(dist.ReduceOp, op))
        result[f"all_reduce_{op}"] = v.numpy()
    v = cn.tensor(np.full(3, 10.0 + r))
    dist.broadcast(v, src=1)
    result["broadcast_from_1"] = v.numpy()
    got = [cn.zeros(2, dtype=cn.int64) for _ in range(n)]
    dist.all_gather(got, cn.tensor(np.array([r, r * r], np.int64)))
    result["all_gather"] = np.stack([g.numpy() for g in got])
    objs = [None] * n
    dist.all_gather_object(objs, {"rank": r, "name": f"r{r}"})
    result["all_gather_object_ranks"] = np.array([o["rank"] for o in objs])
    work = dist.all_reduce(cn.tensor([float(r)]), async_op=True)
    result["async_completed"] = np.array([work.wait()])

    # plain and SyncBatchNorm models
    for name, bn in (("plain", False), ("sync", True)):
        model = make_model(bn)
        if bn:
            model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        ddp = nn.parallel.DistributedDataParallel(model, bucket_cap_mb=0.001)  # several buckets
        train_ddp(ddp, sgd(ddp.parameters()), STEPS)
        for k, a in state(model).items():
            result[f"{name}/ddp/{k}"] = a
        for k, a in state(train_reference(bn)).items():
            result[f"{name}/ref/{k}"] = a
        result[f"{name}/buckets"] = np.array([len(ddp._buckets)])

    # negative control: plain BatchNorm normalises with each rank's half batch, so it must differ
    model = make_model(True)
    ddp = nn.parallel.DistributedDataParallel(model)
    train_ddp(ddp, sgd(ddp.parameters()), STEPS)
    for k, a in state(model).items():
        result[f"unsynced/ddp/{k}"] = a

    # gradient accumulation with no_sync
    model = make_model(False)
    ddp = nn.parallel.DistributedDataParallel(model)
    train_ddp(ddp, sgd(ddp.parameters()), STEPS, micro=2)
    for k, a in state(model).items():
        result[f"accum/ddp/{k}"] = a

    # resume: 10 steps, save on rank 0, fresh objects on every rank load it, 10 more
    model = make_model(True)
    model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    ddp = nn.parallel.DistributedDataParallel(model)
    opt = sgd(ddp.parameters())
    train_ddp(ddp, opt, STEPS // 2)
    path = os.path.join(out, "state.safetensors")
    if r == 0:
        save_training_state(path, {"model": ddp.module.state_dict(), "optimizer": opt.state_dict()})
    dist.barrier()
    saved = load_training_state(path)
    model2 = nn.SyncBatchNorm.convert_sync_batchnorm(make_model(True))
    model2.load_state_dict(saved["model"])
    ddp2 = nn.parallel.DistributedDataParallel(model2)
    opt2 = sgd(ddp2.parameters())
    opt2.load_state_dict(saved["optimizer"])
    train_ddp(ddp2, opt2, STEPS - STEPS // 2, first=STEPS // 2)
    for k, a in state(model2).items():
        result[f"resume/ddp/{k}"] = a

    np.savez(os.path.join(out, f"rank{r}.npz"), **result)
    dist.destroy_process_group()


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[2] == "hang":  # rank 1 stops taking part: rank 0 must abort
        dist.init_process_group("mpi", timeout=1.5)
        if dist.get_rank() == 1:
            import time
            time.sleep(20)
        dist.all_reduce(cn.ones(3))
    else:
        main(sys.argv[1])
