"""convnet vs PyTorch on the CPU, side by side in one process.

    /work/venv/bin/python benchmarks/bench.py            # full run (a few minutes)
    /work/venv/bin/python benchmarks/bench.py --quick    # fewer pairs, same shapes
    /work/venv/bin/python benchmarks/bench.py --only conv # cases whose name contains 'conv'

Each case runs ours and PyTorch ALTERNATELY (float32, the same thread count for NumPy's BLAS
via threadpoolctl and for torch.set_num_threads) and prints the median of the per-pair ratios
ours/PyTorch. A case whose convnet op does not exist yet prints 'n/a'. Convolutions also report
GFLOP/s and that rate as a fraction of a NumPy float32 matmul measured in the same run.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _harness import Unavailable, alternate, default_threads, machine_info, need, set_threads, time_one  # noqa: E402


# ---------------------------------------------------------------------- case helpers
def _conv_flops(n, c_in, c_out, h_out, w_out, k, groups=1):
    """Forward multiply-adds x2: 2 N C_out H_out W_out (C_in/groups) kH kW."""
    return 2 * n * c_out * h_out * w_out * (c_in // groups) * k * k


def conv_case(n, c_in, c_out, size, k, stride, pad, backward):
    """F.conv2d (with bias); fwd+bwd computes the input, weight and bias gradients."""
    import torch
    import torch.nn.functional as TF

    import convnet as cn

    conv2d = need("convnet.functional", "conv2d")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c_in, size, size)).astype(np.float32)
    w = (rng.standard_normal((c_out, c_in, k, k)) / np.sqrt(c_in * k * k)).astype(np.float32)
    b = rng.standard_normal(c_out).astype(np.float32)
    h_out = (size + 2 * pad - k) // stride + 1
    g = rng.standard_normal((n, c_out, h_out, h_out)).astype(np.float32)
    xo, wo, bo = (cn.tensor(a, requires_grad=backward) for a in (x, w, b))
    xt, wt, bt = (torch.tensor(a, requires_grad=backward) for a in (x, w, b))
    go, gt = cn.tensor(g), torch.from_numpy(g)

    # correctness guard: a fast wrong answer is no answer
    out_o = conv2d(xo, wo, bo, stride=stride, padding=pad)
    out_t = TF.conv2d(xt, wt, bt, stride=stride, padding=pad)
    err = float(np.max(np.abs(out_o._data - out_t.detach().numpy())))
    if err > 1e-2:
        raise Unavailable(f"conv2d disagrees with torch (max err {err:.2e})")

    if not backward:
        def ours():
            with cn.no_grad():
                conv2d(xo, wo, bo, stride=stride, padding=pad)

        def theirs():
            with torch.no_grad():
                TF.conv2d(xt, wt, bt, stride=stride, padding=pad)
    else:
        def ours():
            xo.grad = wo.grad = bo.grad = None
            conv2d(xo, wo, bo, stride=stride, padding=pad).backward(go)

        def theirs():
            xt.grad = wt.grad = bt.grad = None
            TF.conv2d(xt, wt, bt, stride=stride, padding=pad).backward(gt)

    flops = _conv_flops(n, c_in, c_out, h_out, h_out, k) * (3 if backward else 1)
    return ours, theirs, flops


def pool_case(n, c, size, k, backward=True):
    import torch
    import torch.nn.functional as TF

    import convnet as cn

    max_pool2d = need("convnet.functional", "max_pool2d")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c, size, size)).astype(np.float32)
    g = rng.standard_normal((n, c, size // k, size // k)).astype(np.float32)
    xo, xt = cn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    go, gt = cn.tensor(g), torch.from_numpy(g)
    err = float(np.max(np.abs(max_pool2d(xo, k)._data - TF.max_pool2d(xt, k).detach().numpy())))
    if err > 1e-6:
        raise Unavailable(f"max_pool2d disagrees with torch (max err {err:.2e})")

    def ours():
        xo.grad = None
        max_pool2d(xo, k).backward(go)

    def theirs():
        xt.grad = None
        TF.max_pool2d(xt, k).backward(gt)

    return ours, theirs, None


def build_models(name):
    """(our model, torch twin, input shape); raises Unavailable if ours is missing or differs."""
    import torch_models as tm

    models = need("convnet.models")
    factory = getattr(models, name, None)
    if factory is None:
        raise Unavailable(f"convnet.models.{name} does not exist")
    ours = factory(num_classes=10)
    if name == "lenet5":
        theirs, shape = _lenet_twin(ours, tm), (1, 32, 32)
    else:
        theirs, shape = tm.ResNetCifar(3), (3, 32, 32)
    x = np.random.default_rng(1).standard_normal((2,) + shape).astype(np.float32)
    ok, msg = tm.twin(ours, theirs, x)
    if not ok:
        raise Unavailable(f"torch twin of {name} is not the same network: {msg}")
    return ours, theirs, shape


def _lenet_twin(ours, tm):
    """Pick the activation/pooling the convnet LeNet-5 uses so the torch twin matches."""
    from torch import nn

    names = {type(m).__name__ for m in ours.modules()}
    act = nn.Tanh if "Tanh" in names and "ReLU" not in names else nn.ReLU
    pool = nn.AvgPool2d if "AvgPool2d" in names and "MaxPool2d" not in names else nn.MaxPool2d
    return tm.LeNet5(act=act, pool=pool)


def train_case(name, batch):
    """One SGD(momentum=0.9) step: forward, cross-entropy, backward, update."""
    import torch
    import torch.nn.functional as TF

    cross_entropy = need("convnet.functional", "cross_entropy")
    SGD = need("convnet.optim", "SGD")
    import convnet as cn

    ours, theirs, shape = build_models(name)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((batch,) + shape).astype(np.float32)
    y = rng.integers(0, 10, batch)
    xo, yo = cn.tensor(x), cn.tensor(y)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    opt_o = SGD(ours.parameters(), lr=0.01, momentum=0.9)
    opt_t = torch.optim.SGD(theirs.parameters(), lr=0.01, momentum=0.9)
    ours.train()
    theirs.train()

    def step_ours():
        opt_o.zero_grad()
        loss = cross_entropy(ours(xo), yo)
        loss.backward()
        opt_o.step()

    def step_theirs():
        opt_t.zero_grad()
        loss = TF.cross_entropy(theirs(xt), yt)
        loss.backward()
        opt_t.step()

    return step_ours, step_theirs, None


def infer_case(name, batch):
    import torch

    import convnet as cn

    ours, theirs, shape = build_models(name)
    ours.eval()
    theirs.eval()
    x = np.random.default_rng(3).standard_normal((batch,) + shape).astype(np.float32)
    xo, xt = cn.tensor(x), torch.from_numpy(x)

    def run_ours():
        with cn.no_grad():
            ours(xo)

    def run_theirs():
        with torch.no_grad():
            theirs(xt)

    return run_ours, run_theirs, None


# name, builder, target ratio, pairs (full run)
CASES = [
    ("conv2d 64->64 3x3 p1, 64x64x32x32, fwd", lambda: conv_case(64, 64, 64, 32, 3, 1, 1, False), 1.5, 15),
    ("conv2d 64->64 3x3 p1, 64x64x32x32, fwd+bwd", lambda: conv_case(64, 64, 64, 32, 3, 1, 1, True), 1.5, 11),
    ("conv2d 3->64 7x7 s2 p3, 32x3x224x224, fwd+bwd", lambda: conv_case(32, 3, 64, 224, 7, 2, 3, True), 2.0, 9),
    ("max_pool2d 2x2, 64x64x32x32, fwd+bwd", lambda: pool_case(64, 64, 32, 2), 1.5, 21),
    ("LeNet-5 train step, batch 128", lambda: train_case("lenet5", 128), 1.0, 21),
    ("LeNet-5 inference, batch 1", lambda: infer_case("lenet5", 1), 1.0, 21),
    ("ResNet-20 train step, batch 128", lambda: train_case("resnet20", 128), 1.5, 9),
]


def matmul_gflops(n=2048, reps=7):
    """NumPy float32 (n x n) @ (n x n): the BLAS ceiling a conv's GEMM can hope for."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(np.float32)
    b = rng.standard_normal((n, n)).astype(np.float32)
    return 2 * n ** 3 / time_one(lambda: a @ b, reps) / 1e9


def startup_times(reps=5):
    """Wall time of a fresh `python -c 'import convnet'` and `convnet --help` (medians, s)."""
    import statistics
    import time

    py = sys.executable
    script = os.path.join(os.path.dirname(py), "convnet")
    cmds = {
        "python -c pass (interpreter baseline)": [py, "-c", "pass"],
        "python -c 'import convnet'": [py, "-c", "import convnet"],
        "convnet --help": [script, "--help"] if os.path.exists(script) else [py, "-m", "convnet.cli", "--help"],
    }
    out = {}
    for label, cmd in cmds.items():
        ts, rc = [], 0
        for _ in range(reps):
            t0 = time.perf_counter()
            rc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
            ts.append(time.perf_counter() - t0)
        out[label] = (statistics.median(ts), rc)
    # in-process: the import statement alone (interpreter start excluded)
    code = "import time; t=time.perf_counter(); import convnet; print(time.perf_counter()-t)"
    vals = [float(subprocess.run([py, "-c", code], capture_output=True, text=True).stdout or "nan")
            for _ in range(reps)]
    out["import convnet (in-process perf_counter)"] = (statistics.median(vals), 0)
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="3-5 pairs per case instead of 9-21")
    p.add_argument("--threads", type=int, default=default_threads(), help="threads for BLAS and torch")
    p.add_argument("--only", default="", help="run only cases whose name contains this text")
    p.add_argument("--no-startup", action="store_true", help="skip the import/--help timings")
    p.add_argument("--markdown", action="store_true", help="also print the results as a Markdown table")
    args = p.parse_args(argv)

    limiter = set_threads(args.threads)  # noqa: F841  (keeps the BLAS limit alive)
    info = machine_info()
    print("machine: " + "; ".join(f"{k}={v}" for k, v in info.items()))
    print(f"threads: {args.threads} (torch.set_num_threads + threadpoolctl BLAS limit + CONVNET_NUM_THREADS)")
    print("load average at start (1/5/15 min): %.2f %.2f %.2f" % os.getloadavg())
    mm = matmul_gflops(reps=3 if args.quick else 7)
    print(f"NumPy float32 2048^3 matmul: {mm:.0f} GFLOP/s\n")

    head = f"{'case':48s} {'ours ms':>9s} {'torch ms':>9s} {'ratio':>6s} {'[min-max]':>12s} {'target':>6s} {'':4s}"
    print(head + "  GFLOP/s ours/torch (fraction of matmul)")
    rows = []
    for name, build, target, pairs in CASES:
        if args.only and args.only.lower() not in name.lower():
            continue
        try:
            ours, theirs, flops = build()
        except Unavailable as exc:
            print(f"{name:48s} {'n/a':>9s} {'':>9s} {'n/a':>6s}  ({exc})", flush=True)
            rows.append((name, None, target))
            continue
        r = alternate(ours, theirs, max(3, pairs // 4) if args.quick else pairs)
        verdict = "PASS" if r["ratio"] <= target else "FAIL"
        line = (f"{name:48s} {r['ours_ms']:9.2f} {r['torch_ms']:9.2f} {r['ratio']:6.2f} "
                f"{'[%.2f-%.2f]' % (r['ratio_lo'], r['ratio_hi']):>12s} {'<=%.1f' % target:>6s} {verdict:4s}")
        if flops:
            go, gt = flops / r["ours_ms"] / 1e6, flops / r["torch_ms"] / 1e6
            line += f"  {go:5.0f} / {gt:5.0f} ({go / mm:.2f} / {gt / mm:.2f})"
        print(line, flush=True)
        r["gflops"] = (flops / r["ours_ms"] / 1e6, flops / r["torch_ms"] / 1e6) if flops else None
        rows.append((name, r, target))
        del ours, theirs

    if not args.no_startup and not args.only:
        print()
        for label, (t, rc) in startup_times(3 if args.quick else 5).items():
            print(f"{label:48s} {t:6.3f} s" + (f"  (exit code {rc})" if rc else ""))
    print("load average at end (1/5/15 min): %.2f %.2f %.2f" % os.getloadavg())
    if args.markdown:
        print(markdown(rows, mm))
    return rows


def markdown(rows, mm):
    """The results as the Markdown table docs/performance.md uses."""
    out = ["| case | ours (ms) | torch (ms) | ratio ours/torch (median) | min-max | target | | GFLOP/s ours / torch "
           f"(fraction of {mm:.0f} GFLOP/s matmul) |", "|---|--:|--:|--:|--:|--:|---|---|"]
    for name, r, target in rows:
        if r is None:
            out.append(f"| {name} | n/a | n/a | n/a | | <= {target} | | |")
            continue
        g = r.get("gflops")
        gf = f"{g[0]:.0f} / {g[1]:.0f} ({g[0] / mm:.2f} / {g[1] / mm:.2f})" if g else ""
        verdict = "PASS" if r["ratio"] <= target else "FAIL"
        out.append(f"| {name} | {r['ours_ms']:.2f} | {r['torch_ms']:.2f} | **{r['ratio']:.2f}** | "
                   f"{r['ratio_lo']:.2f}-{r['ratio_hi']:.2f} | <= {target} | {verdict} | {gf} |")
    return "\n".join(out)


if __name__ == "__main__":
    main()
