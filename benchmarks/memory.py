"""Peak resident memory of a ResNet-20 (or LeNet-5) training step, each framework in its own process.

    /work/venv/bin/python benchmarks/memory.py                # resnet20, batch 128, 3 steps
    /work/venv/bin/python benchmarks/memory.py --model lenet5

Method: a fresh subprocess per framework (convnet never imports torch, and vice versa) imports
its library, builds the model, the optimiser and the batch, then reads its current RSS
(``VmRSS`` in /proc/self/status) as the *baseline*. It runs ``--steps`` training steps
(SGD momentum, cross-entropy) and reads the *peak* RSS (``resource.getrusage(RUSAGE_SELF).ru_maxrss``).
Reported: baseline, peak, and the *training increment* peak - baseline, which is the memory the
step itself needs (activations saved for backward, gradients, temporaries). The increment ratio
ours/torch is the figure compared with the target, because the totals are dominated by the
libraries' own footprint (PyTorch's shared libraries alone are several hundred MB of RSS).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def _rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _data(model, batch):
    shape = (1, 32, 32) if model == "lenet5" else (3, 32, 32)
    rng = np.random.default_rng(2)
    return rng.standard_normal((batch,) + shape).astype(np.float32), rng.integers(0, 10, batch)


def child_ours(model, batch, steps, threads):
    from threadpoolctl import threadpool_limits

    limiter = threadpool_limits(limits=threads, user_api="blas")  # noqa: F841
    import convnet as cn
    import convnet.functional as F
    from convnet import models, optim

    net = getattr(models, model)()
    opt = optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    x, y = _data(model, batch)
    xo, yo = cn.tensor(x), cn.tensor(y)
    base = _rss_mb()
    for _ in range(steps):
        opt.zero_grad()
        F.cross_entropy(net(xo), yo).backward()
        opt.step()
    return base, _peak_mb()


def child_torch(model, batch, steps, threads):
    import torch
    import torch.nn.functional as TF

    sys.path.insert(0, HERE)
    import torch_models as tm

    torch.set_num_threads(threads)
    net = tm.LeNet5() if model == "lenet5" else tm.ResNetCifar(3)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    x, y = _data(model, batch)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    base = _rss_mb()
    for _ in range(steps):
        opt.zero_grad()
        TF.cross_entropy(net(xt), yt).backward()
        opt.step()
    return base, _peak_mb()


def measure(framework, model, batch, steps, threads):
    cmd = [sys.executable, os.path.abspath(__file__), "--child", framework, "--model", model,
           "--batch", str(batch), "--steps", str(steps), "--threads", str(threads)]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        return None, res.stderr.strip().splitlines()[-1] if res.stderr.strip() else f"exit {res.returncode}"
    return json.loads(res.stdout.strip().splitlines()[-1]), ""


def main(argv=None):
    p = argparse.ArgumentParser(description="peak RSS of a training step, ours vs torch")
    p.add_argument("--model", default="resnet20", choices=["resnet20", "lenet5"])
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    p.add_argument("--repeat", type=int, default=1, help="processes per framework (median reported)")
    p.add_argument("--child", choices=["ours", "torch"], help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.child:
        fn = child_ours if args.child == "ours" else child_torch
        base, peak = fn(args.model, args.batch, args.steps, args.threads)
        print(json.dumps({"baseline_mb": base, "peak_mb": peak}))
        return None

    results = {}
    for fw in ("ours", "torch"):
        runs = []
        for _ in range(args.repeat):
            r, err = measure(fw, args.model, args.batch, args.steps, args.threads)
            if r is None:
                print(f"{fw}: n/a ({err})")
                break
            runs.append(r)
        if runs:
            runs.sort(key=lambda r: r["peak_mb"] - r["baseline_mb"])
            results[fw] = runs[len(runs) // 2]
    print(f"{args.model}, batch {args.batch}, {args.steps} training steps, threads {args.threads}")
    print(f"{'':8s} {'baseline MB':>12s} {'peak MB':>9s} {'increment MB':>13s}")
    for fw, r in results.items():
        print(f"{fw:8s} {r['baseline_mb']:12.0f} {r['peak_mb']:9.0f} {r['peak_mb'] - r['baseline_mb']:13.0f}")
    if len(results) == 2:
        o, t = results["ours"], results["torch"]
        inc = (o["peak_mb"] - o["baseline_mb"]) / (t["peak_mb"] - t["baseline_mb"])
        print(f"ratio ours/torch: increment {inc:.2f} (target <= 1.5: {'PASS' if inc <= 1.5 else 'FAIL'}), "
              f"total peak {o['peak_mb'] / t['peak_mb']:.2f}")
    return results


if __name__ == "__main__":
    main()
