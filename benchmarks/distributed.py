"""Data parallelism on this machine and on paper.

1. Here: one training step of LeNet-5 (global batch 64) and ResNet-20 (global batch 32), float32,
   SGD: 1 process x 2 threads against 2 MPI ranks x 1 thread (``CONVNET_NUM_THREADS=1``, batch
   B/2 each, DistributedDataParallel). For the ranks: the time backward waited for the gradient
   all-reduce at its end (exposed), the time the same all-reduce takes when run blocking after
   backward, and the share of it hidden behind the backward pass: 1 - exposed / blocking.
2. On paper, for 8-256 nodes: bytes all-reduced per step (float32 gradients) of every zoo model,
   the compute time per step measured here (per-sample time x batch per node), and the scaling
   efficiency a ring all-reduce predicts at 10 and 100 Gbit/s: each node sends and receives
   2 (N - 1) / N x bytes, plus 2 (N - 1) latency hops of 5 us.

    .venv/bin/python benchmarks/distributed.py            # both parts (a few minutes on 2 cores)
    .venv/bin/python benchmarks/distributed.py --part here

Needs mpi4py and mpirun (``pip install 'convnet[mpi]'``); as root Open MPI needs the two
``OMPI_ALLOW_RUN_AS_ROOT*`` variables this script sets for its own mpirun.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE_MODELS = (("lenet5", 64, 20), ("resnet20", 32, 8))  # (model, global batch, timed steps)
PAPER_MODELS = ("lenet5", "resnet20", "resnet56", "nin", "resnet18", "resnet50", "googlenet", "alexnet", "vgg16")
PAPER_BATCH = {32: 128, 224: 32}  # images per node per step, by input side (CIFAR-size / ImageNet-size)
LATENCY = 5e-6


def _step_fn(model, x, y, opt):
    import convnet as cn

    loss_fn = cn.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    return step


def _data(name, batch, seed=0):
    import numpy as np

    import convnet as cn

    shape = cn.models.default_input_shape(name)
    rng = np.random.default_rng(seed)
    return cn.tensor(rng.standard_normal((batch,) + tuple(shape)).astype(np.float32)), \
        cn.tensor(rng.integers(0, 10, batch))


def measure_single(out):
    """1 process, CONVNET_NUM_THREADS=2: median step time of each model at the global batch."""
    import convnet as cn

    res = {}
    for name, batch, steps in HERE_MODELS:
        cn.manual_seed(0)
        model = cn.models.get(name, num_classes=10)
        step = _step_fn(model, *_data(name, batch), cn.optim.SGD(model.parameters(), lr=0.01, momentum=0.9))
        for _ in range(2):
            step()
        times = []
        for _ in range(steps):
            t0 = time.perf_counter()
            step()
            times.append(time.perf_counter() - t0)
        res[name] = {"step_s": statistics.median(times)}
    with open(out, "w") as f:
        json.dump(res, f)


def measure_ranks(out):
    """Under mpirun: each rank B/N per step through DistributedDataParallel."""
    import numpy as np

    import convnet as cn
    import convnet.distributed as dist

    dist.init_process_group("mpi")
    rank, n = dist.get_rank(), dist.get_world_size()
    res = {}
    for name, batch, steps in HERE_MODELS:
        for label in ("25", "1/5"):
            cn.manual_seed(0)
            model = cn.models.get(name, num_classes=10)
            total_mib = sum(p.numel() for p in model.parameters()) * 4 / 2 ** 20
            cap = 25.0 if label == "25" else total_mib / 5  # torch's default, or about five buckets
            ddp = cn.nn.parallel.DistributedDataParallel(model, bucket_cap_mb=cap)
            step = _step_fn(ddp, *_data(name, batch // n, seed=rank),
                            cn.optim.SGD(ddp.parameters(), lr=0.01, momentum=0.9))
            for _ in range(2):
                step()
            ddp.reset_comm_stats()
            times, waits = [], []
            for _ in range(steps):
                dist.barrier()
                before = ddp.comm_stats["wait"]
                t0 = time.perf_counter()
                step()
                times.append(time.perf_counter() - t0)
                waits.append(ddp.comm_stats["wait"] - before)
            flat = np.zeros(sum(p.numel() for p in model.parameters()), np.float32)
            blocking = []
            for _ in range(steps):  # the same bytes all-reduced after backward, nothing to overlap with
                dist.barrier()
                t0 = time.perf_counter()
                dist.all_reduce(cn.tensor(flat))
                blocking.append(time.perf_counter() - t0)
            s = ddp.comm_stats
            res[f"{name}@{label}"] = {"step_s": statistics.median(times), "buckets": len(ddp._buckets),
                                      "bytes": s["bytes"] // s["steps"], "wait_median_s": statistics.median(waits),
                                      "wait_min_s": min(waits), "blocking_allreduce_s": statistics.median(blocking)}
    if rank == 0:
        with open(out, "w") as f:
            json.dump(res, f)
    dist.destroy_process_group()


def part_here():
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMP_NUM_THREADS="1")
    tmp = tempfile.mkdtemp()
    me = os.path.abspath(__file__)
    single, ranks = os.path.join(tmp, "single.json"), os.path.join(tmp, "ranks.json")
    subprocess.run([sys.executable, me, "--worker", "single", single], check=True,
                   env=dict(env, CONVNET_NUM_THREADS="2", OPENBLAS_NUM_THREADS="2"))
    mpirun = shutil.which("mpirun", path=os.path.dirname(sys.executable)) or shutil.which("mpirun")
    subprocess.run([mpirun, "-n", "2", "--oversubscribe", "--mca", "btl", "self,tcp", "--mca", "btl_tcp_if_include",
                    "lo", sys.executable, me, "--worker", "ranks", ranks], check=True,
                   env=dict(env, CONVNET_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1"))
    with open(single) as f:
        one = json.load(f)
    with open(ranks) as f:
        two = json.load(f)
    print("## 1. This machine: one step, 1 process x 2 threads vs 2 MPI ranks x 1 thread (loopback TCP)\n")
    print("| model | global batch | 1 x 2 threads (ms) | 2 ranks x 1 thread (ms) | speed-up | bucket cap (MiB) | "
          "buckets | all-reduced (KiB) | blocking all-reduce alone (ms) | wait after backward, median / min (ms) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, batch, _ in HERE_MODELS:
        for label in ("25", "1/5"):
            r = two[f"{name}@{label}"]
            print(f"| {name} | {batch} | {1e3 * one[name]['step_s']:.1f} | {1e3 * r['step_s']:.1f} | "
                  f"{one[name]['step_s'] / r['step_s']:.2f}x | {label if label == '25' else '1/5 of the model'} | "
                  f"{r['buckets']} | {r['bytes'] / 1024:.0f} | {1e3 * r['blocking_allreduce_s']:.2f} | "
                  f"{1e3 * r['wait_median_s']:.2f} / {1e3 * r['wait_min_s']:.2f} |")
    return one


def part_paper():
    import convnet as cn

    from threadpoolctl import threadpool_limits

    part_paper.blas = threadpool_limits(limits=2, user_api="blas")  # this machine's 2 cores, kept while it runs
    print("\n## 2. On paper: ring all-reduce of float32 gradients, compute time per step measured here\n")
    rows = []
    for name in cn.models.names():
        params = sum(p.numel() for p in cn.models.get(name).parameters())
        rows.append((name, params))
    per_sample = {}
    for name in PAPER_MODELS:
        cn.manual_seed(0)
        model = cn.models.get(name, num_classes=10)
        x, y = _data(name, 4)
        step = _step_fn(model, x, y, cn.optim.SGD(model.parameters(), lr=0.01))
        step()
        t0 = time.perf_counter()
        step()
        per_sample[name] = (time.perf_counter() - t0) / 4
        print(f"measured {name}: {1e3 * per_sample[name]:.1f} ms per sample (forward + backward + SGD, batch 4, "
              "2 threads)", flush=True)
    print("\nBytes all-reduced per step (every zoo model):\n")
    print("| model | parameters | gradient MiB per step |")
    print("|---|---|---|")
    for name, params in rows:
        print(f"| {name} | {params:,} | {4 * params / 2 ** 20:.2f} |")
    print("\nPredicted scaling efficiency = compute / (compute + exposed all-reduce), without and with overlap "
          "(overlap: compute / max(compute, all-reduce)):\n")
    nodes = (8, 16, 32, 64, 128, 256)
    print("| model | batch / node | compute / step here (s) | Gbit/s | " + " | ".join(f"N={n}" for n in nodes) + " |")
    print("|---|---|---|---|" + "---|" * len(nodes))
    out = {}
    for name in PAPER_MODELS:
        params = dict(rows)[name]
        side = cn.models.default_input_shape(name)[-1]
        b = PAPER_BATCH[32 if side < 100 else 224]
        for speedup, label in ((1, "here"), (100, "100x faster node")):
            compute = per_sample[name] * b / speedup
            for gbit in (10, 100):
                cells = []
                for n in nodes:
                    comm = 2 * (n - 1) / n * 4 * params / (gbit * 1e9 / 8) + 2 * (n - 1) * LATENCY
                    eff, eff_overlap = compute / (compute + comm), compute / max(compute, comm)
                    cells.append(f"{eff:.0%} / {eff_overlap:.0%}")
                    out[(name, label, gbit, n)] = eff
                print(f"| {name} ({label}) | {b} | {compute:.3g} | {gbit} | " + " | ".join(cells) + " |")
    return per_sample


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=("here", "paper", "both"), default="both")
    ap.add_argument("--worker", nargs=2, metavar=("KIND", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        (measure_single if args.worker[0] == "single" else measure_ranks)(args.worker[1])
        return
    start = time.perf_counter()
    if args.part in ("here", "both"):
        part_here()
    if args.part in ("paper", "both"):
        part_paper()
    print(f"\nwall time: {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
