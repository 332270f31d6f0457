"""What augmentation costs: LeNet-5 on MNIST, batch 128, an epoch (all 60,000 images) with and without
affine + elastic augmentation (issue 14: at most 1.2x).

    CONVNET_DATA=/work/shared/datasets .venv/bin/python benchmarks/augment_epoch.py
    CONVNET_DATA=/work/shared/datasets .venv/bin/python benchmarks/augment_epoch.py --workers 4 --threads 8
    CONVNET_DATA=/work/shared/datasets .venv/bin/python benchmarks/augment_epoch.py --openblas-timeout 4
    CONVNET_DATA=/work/shared/datasets .venv/bin/python benchmarks/augment_epoch.py --batches 100  # shorter

``--spin-us`` sets ``CONVNET_SPIN_US`` (how long the C kernels' idle threads spin before sleeping) for
both runs, default 0 here: on 2 cores a thread spinning between two training-step kernels holds the
core the loader workers need (measured: ratio ~1.75 with the library's default 300 us, ~1.2-1.4 with 0;
the plain run is not slower with 0 on this model). ``--openblas-timeout N`` does the same for OpenBLAS's
own threads (``OPENBLAS_THREAD_TIMEOUT``: they busy-wait 2**28 cycles after each GEMM by default).
``--threads N`` sets the training process's conv and BLAS threads (both runs); ``--worker-nice N``
lowers the loader workers' priority (``os.nice`` in ``worker_init_fn``).

The two runs alternate (plain, augmented, plain, ...) so both see the same machine load. The plain
run loads batches in the main process (``num_workers=0``: one indexing call per batch, the fastest
way without augmentation); the augmented run builds and augments its batches in ``--workers``
processes (``DataLoader(num_workers=...)``), which overlap with the training step. Prints the
median seconds of each and the median of the per-pair ratios augmented / plain.
"""
from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
import time


def _renice(increment, worker_id):
    os.nice(increment)


def _epoch(model, optimizer, loss_fn, loader, cn):
    model.train()
    t0 = time.perf_counter()
    for x, y in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
    return time.perf_counter() - t0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--batches", type=int, default=469, help="batches per epoch (default 469: all 60,000 images)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--workers", type=int, default=1,
                   help="loader processes for the augmented run (default 1: on 2 cores the training step needs the "
                        "other one; give more on a bigger machine)")
    p.add_argument("--repeats", type=int, default=5, help="epochs each way (default 5)")
    p.add_argument("--spin-us", type=int, default=0,
                   help="CONVNET_SPIN_US for both runs (default 0: idle kernel threads sleep at once)")
    p.add_argument("--threads", type=int, default=None,
                   help="threads of the training process for both runs: the conv kernels' (CONVNET_NUM_THREADS) "
                        "and BLAS's (default: one per CPU)")
    p.add_argument("--blas-threads", type=int, default=None,
                   help="BLAS threads of the training process for both runs (threadpoolctl; default: BLAS's own)")
    p.add_argument("--openblas-timeout", type=int, default=None,
                   help="OPENBLAS_THREAD_TIMEOUT for both runs: idle OpenBLAS threads spin 2**N cycles (4-30) "
                        "before sleeping (default: OpenBLAS's, 2**28)")
    p.add_argument("--worker-nice", type=int, default=0,
                   help="os.nice increment of the loader workers (worker_init_fn); 19: they only use idle cycles")
    args = p.parse_args(argv)
    os.environ["CONVNET_SPIN_US"] = str(args.spin_us)  # read when convnet.ops._clib is imported, below
    if args.threads is not None:
        os.environ["CONVNET_NUM_THREADS"] = str(args.threads)
        args.blas_threads = args.blas_threads or args.threads
    if args.openblas_timeout is not None:  # read when OpenBLAS loads, i.e. when NumPy is imported
        os.environ["OPENBLAS_THREAD_TIMEOUT"] = str(args.openblas_timeout)

    import numpy as np  # after OPENBLAS_THREAD_TIMEOUT

    if args.blas_threads is not None:  # after NumPy has loaded its BLAS
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.blas_threads, user_api="blas")

    import convnet as cn
    from convnet import data, models, nn, optim
    from convnet.data import transforms as T

    cn.manual_seed(0)
    full = data.get("mnist", "train", size=32)  # 28x28 zero-padded to 32x32, normalised
    n = min(args.batches * args.batch_size, len(full))
    subset = data.Subset(full, np.arange(n))
    fill = -full.normalization["mean"][0] / full.normalization["std"][0]  # a black pixel, normalised
    aug = T.Compose([T.RandomAffine(10, translate=(0.08, 0.08), scale=(0.9, 1.1), shear=10, fill=fill),
                     T.ElasticTransform(34.0, 4.0, fill=fill)])
    plain = data.DataLoader(subset, batch_size=args.batch_size, shuffle=True, seed=0)
    kw = dict(num_workers=args.workers, persistent_workers=True) if args.workers else {}
    if args.workers and args.worker_nice:
        kw["worker_init_fn"] = functools.partial(_renice, args.worker_nice)
    augmented = data.DataLoader(subset, batch_size=args.batch_size, shuffle=True, seed=0, transform=aug, **kw)
    model = models.get("lenet5", num_classes=10)
    optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()

    print(f"LeNet-5 on MNIST, {n} images, {-(-n // args.batch_size)} batches of {args.batch_size} per epoch; "
          f"augmentation: "
          f"{aug.transforms[0]!r} then ElasticTransform(alpha=34, sigma=4); augmented loader: "
          f"num_workers={args.workers}; CONVNET_SPIN_US={args.spin_us}; "
          f"conv threads {os.environ.get('CONVNET_NUM_THREADS', 'default')}; "
          f"BLAS threads {args.blas_threads or 'default'}; "
          f"OPENBLAS_THREAD_TIMEOUT {os.environ.get('OPENBLAS_THREAD_TIMEOUT', 'default')}; worker nice "
          f"+{args.worker_nice}; {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    _epoch(model, optimizer, loss_fn, plain, cn)  # warm-up: caches, worker start
    _epoch(model, optimizer, loss_fn, augmented, cn)
    times = {"plain": [], "augmented": []}
    for r in range(args.repeats):
        order = ("plain", "augmented") if r % 2 == 0 else ("augmented", "plain")
        for name in order:
            times[name].append(_epoch(model, optimizer, loss_fn, plain if name == "plain" else augmented, cn))
        print(f"  repeat {r + 1}: plain {times['plain'][-1]:.2f} s, augmented {times['augmented'][-1]:.2f} s",
              flush=True)
    ratios = [a / b for a, b in zip(times["augmented"], times["plain"])]
    mp, ma = statistics.median(times["plain"]), statistics.median(times["augmented"])
    print(f"median epoch: plain {mp:.2f} s, augmented {ma:.2f} s; ratio augmented/plain "
          f"{statistics.median(ratios):.2f} (target <= 1.2)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
