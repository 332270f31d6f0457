"""Write docs/conformance.md: every op and the configurations checked against PyTorch.

Each configuration runs forward and every input gradient through ``tests/helpers.check_against_torch``
in float32 and float64 and records pass/fail.

    .venv/bin/python tools/conformance.py            # writes docs/conformance.md
"""
from __future__ import annotations

import itertools
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as TF

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))

import convnet as cn  # noqa: E402
import convnet.functional as F  # noqa: E402
from helpers import away_from_ties, check_against_torch  # noqa: E402

rng = np.random.default_rng(0)


def conv_cases():
    for nd, (stride, padding, dilation, groups, k) in itertools.product(
            (1, 2, 3), [(1, 0, 1, 1, 3), (2, 1, 1, 1, 3), (1, "same", 2, 1, 4), (1, "valid", 1, 2, 2),
                        (2, 2, 2, 4, 3), (3, 1, 1, 1, 1)]):
        if nd == 3 and dilation == 2:
            continue
        c_in, c_out = 4, 8
        spatial = (9, 8, 7)[:nd]
        x = rng.standard_normal((2, c_in) + spatial)
        w = rng.standard_normal((c_out, c_in // groups) + (k,) * nd)
        b = rng.standard_normal(c_out)
        name = f"conv{nd}d"
        cfg = f"k={k} s={stride} p={padding} d={dilation} g={groups}"
        kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
        yield name, cfg, (lambda f, kw=kw: lambda x, w, b: f(x, w, b, **kw)), [x, w, b]


def conv_t_cases():
    for nd, (stride, padding, opad, dilation, groups) in itertools.product(
            (1, 2, 3), [(1, 0, 0, 1, 1), (2, 1, 1, 1, 1), (2, 0, 0, 2, 2), (3, 1, 2, 1, 1)]):
        c_in, c_out, k = 4, 6, 3
        x = rng.standard_normal((2, c_in) + (5, 4, 3)[:nd])
        w = rng.standard_normal((c_in, c_out // groups) + (k,) * nd)
        b = rng.standard_normal(c_out)
        kw = dict(stride=stride, padding=padding, output_padding=opad, groups=groups, dilation=dilation)
        cfg = f"s={stride} p={padding} op={opad} d={dilation} g={groups}"
        yield f"conv_transpose{nd}d", cfg, (lambda f, kw=kw: lambda x, w, b: f(x, w, b, **kw)), [x, w, b]


def pool_cases():
    for nd, kind, (k, s, p, ceil) in itertools.product(
            (1, 2, 3), ("max", "avg"), [(2, None, 0, False), (3, 2, 1, True), (3, 2, 1, False), (2, 1, 1, True)]):
        x = away_from_ties((2, 3) + (7, 6, 5)[:nd], rng)
        kw = dict(kernel_size=k, stride=s, padding=p, ceil_mode=ceil)
        yield f"{kind}_pool{nd}d", f"k={k} s={s} p={p} ceil={ceil}", (lambda f, kw=kw: lambda x: f(x, **kw)), [x]
    for nd, out in itertools.product((1, 2, 3), (1, 3, 4)):
        x = away_from_ties((2, 3) + (7, 6, 5)[:nd], rng)
        for kind in ("avg", "max"):
            yield (f"adaptive_{kind}_pool{nd}d", f"output_size={out}",
                   (lambda f, out=out: lambda x: f(x, out)), [x])
    x = away_from_ties((2, 3, 7, 6), rng)
    for p in (0, 1):
        yield ("avg_pool2d", f"k=3 s=2 p={p} count_include_pad=False ceil=True",
               (lambda f, p=p: lambda x: f(x, 3, 2, p, True, False)), [x])


def act_cases():
    x = away_from_ties((3, 4, 5), rng, -3, 3)
    for name in ("relu", "sigmoid", "tanh", "softplus", "leaky_relu"):
        yield name, "default", (lambda f: lambda x: f(x)), [x]
    for dim in (0, 1, -1):
        yield "softmax", f"dim={dim}", (lambda f, d=dim: lambda x: f(x, dim=d)), [x]
        yield "log_softmax", f"dim={dim}", (lambda f, d=dim: lambda x: f(x, dim=d)), [x]


def norm_cases():
    for shape, training in itertools.product([(4, 3), (4, 3, 5), (2, 3, 4, 5), (2, 3, 2, 3, 4)], (True, False)):
        x = rng.standard_normal(shape)
        w, b = rng.standard_normal(3), rng.standard_normal(3)
        rm, rv = rng.standard_normal(3), rng.uniform(0.5, 2, 3)

        def mk(f, training=training, rm=rm, rv=rv):
            def run(x, w, b):
                mod = cn if f.__module__.startswith("convnet") else torch
                dt = np.float32 if str(x.dtype).endswith("float32") else np.float64
                return f(x, mod.tensor(rm.astype(dt)), mod.tensor(rv.astype(dt)), w, b, training=training)
            return run
        yield "batch_norm", f"input {shape} training={training}", mk, [x, w, b]
    for size in (1, 2, 3, 5):
        x = rng.standard_normal((2, 6, 4, 4))
        yield "local_response_norm", f"size={size}", (lambda f, s=size: lambda x: f(x, s, 1e-2, 0.75, 2.0)), [x]


def loss_cases():
    logits = rng.standard_normal((6, 5)) * 2
    target = rng.integers(0, 5, 6)
    for red, ls in itertools.product(("mean", "sum", "none"), (0.0, 0.1)):
        yield ("cross_entropy", f"reduction={red} label_smoothing={ls}",
               (lambda f, red=red, ls=ls: lambda x, t: f(x, t, reduction=red, label_smoothing=ls)), [logits, target])
    for red in ("mean", "sum", "none"):
        y = rng.standard_normal((6, 5))
        yield "mse_loss", f"reduction={red}", (lambda f, red=red: lambda x, y: f(x, y, reduction=red)), [logits, y]
        yield ("nll_loss", f"reduction={red}", (lambda f, red=red: lambda x, t: f(x, t, reduction=red)),
               [np.log(np.abs(logits) + 0.1), target])
        yb = rng.uniform(0, 1, (6, 5))
        yield ("binary_cross_entropy_with_logits", f"reduction={red}",
               (lambda f, red=red: lambda x, y: f(x, y, reduction=red)), [logits, yb])


def linear_cases():
    for shape in ((4, 6), (2, 3, 6), (6,)):
        x = rng.standard_normal(shape)
        w, b = rng.standard_normal((5, 6)), rng.standard_normal(5)
        yield "linear", f"input {shape}", (lambda f: lambda x, w, b: f(x, w, b)), [x, w, b]


FAMILIES = [conv_cases, conv_t_cases, pool_cases, act_cases, norm_cases, loss_cases, linear_cases]


def main(out_path=os.path.join(ROOT, "docs", "conformance.md")):
    results = {}
    t0 = time.time()
    for family in FAMILIES:
        for name, cfg, make, inputs in family():
            ours, theirs = getattr(F, name, None), getattr(TF, name)
            for dtype in (np.float32, np.float64):
                arrs = [a.astype(dtype) if a.dtype.kind == "f" else a for a in inputs]
                try:
                    if ours is None:
                        raise AttributeError(f"convnet.functional has no {name}")
                    check_against_torch(make(ours), make(theirs), arrs)
                    ok = True
                except Exception as e:  # noqa: BLE001 - recorded in the table
                    ok = False
                    print(f"FAIL {name} {cfg} {np.dtype(dtype).name}: {type(e).__name__}: {str(e)[:200]}")
                results.setdefault(name, []).append((cfg, np.dtype(dtype).name, ok))
    lines = ["# Conformance with PyTorch", "",
             f"Produced by `python tools/conformance.py` against torch {torch.__version__} "
             f"({time.strftime('%Y-%m-%d')}, {time.time() - t0:.0f} s).",
             "Each row: forward output and the gradient of every floating input (for a random upstream "
             "gradient) compared with `torch.nn.functional` at float32 (atol 2e-5, rtol 2e-4) and float64 "
             "(atol 1e-9, rtol 1e-7). The test suite (`tests/ops/`) checks larger grids plus finite differences.",
             "", "| op | configuration | float32 | float64 |", "|---|---|---|---|"]
    total = passed = 0
    for name, rows in results.items():
        by_cfg = {}
        for cfg, dt, ok in rows:
            by_cfg.setdefault(cfg, {})[dt] = ok
            total += 1
            passed += ok
        for cfg, d in by_cfg.items():
            mark = lambda v: "pass" if v else "**FAIL**"  # noqa: E731
            lines.append(f"| `{name}` | {cfg} | {mark(d.get('float32'))} | {mark(d.get('float64'))} |")
    lines += ["", f"**{passed} / {total} checks pass.**", ""]
    tmp = out_path + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(lines))
    os.replace(tmp, out_path)
    print(f"{passed}/{total} pass -> {out_path}")
    return 0 if passed == total else 1


if __name__ == "__main__":
    sys.exit(main())
