"""``conv3d`` forward + backward, ours vs PyTorch, side by side in one process (median ratio ours/torch).

Shapes are those of the video models (``models/video.py``) on Moving MNIST clips. Target: ratio <= 1.5.

    .venv/bin/python benchmarks/conv3d.py --threads 2
"""
from __future__ import annotations

import argparse
import sys
import os

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _harness import alternate, set_threads  # noqa: E402

import convnet as cn  # noqa: E402
import convnet.functional as F  # noqa: E402

CASES = [  # (N, C_in, T, H, W), C_out, kernel, padding
    ((16, 1, 8, 32, 32), 12, 3, 1),
    ((16, 12, 8, 16, 16), 24, 3, 1),
    ((16, 24, 4, 8, 8), 24, 3, 1),
    ((4, 16, 16, 32, 32), 32, 3, 1),
]


def case(shape, c_out, k, pad, rng):
    import torch

    x = rng.standard_normal(shape).astype(np.float32)
    w = (rng.standard_normal((c_out, shape[1], k, k, k)) * 0.1).astype(np.float32)
    b = rng.standard_normal(c_out).astype(np.float32)
    xo, wo, bo = (cn.tensor(a, requires_grad=True) for a in (x, w, b))
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))

    def ours():
        for t in (xo, wo, bo):
            t.grad = None
        F.conv3d(xo, wo, bo, padding=pad).sum().backward()

    def theirs():
        for t in (xt, wt, bt):
            t.grad = None
        torch.nn.functional.conv3d(xt, wt, bt, padding=pad).sum().backward()

    return ours, theirs


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--pairs", type=int, default=7)
    args = p.parse_args()
    _keep = set_threads(args.threads)  # noqa: F841
    rng = np.random.default_rng(0)
    print(f"conv3d forward+backward, float32, {args.threads} threads, median of {args.pairs} alternating pairs")
    print(f"{'input (N,C,T,H,W)':22s} {'C_out':>5s} {'k':>2s} {'ours ms':>9s} {'torch ms':>9s} {'ratio':>6s}")
    ratios = []
    for shape, c_out, k, pad in CASES:
        r = alternate(*case(shape, c_out, k, pad, rng), pairs=args.pairs)
        ratios.append(r["ratio"])
        print(f"{str(shape):22s} {c_out:5d} {k:2d} {r['ours_ms']:9.1f} {r['torch_ms']:9.1f} {r['ratio']:6.2f}",
              flush=True)
    print(f"geometric mean ratio: {float(np.exp(np.mean(np.log(ratios)))):.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
