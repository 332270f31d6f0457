"""Where a convnet training step spends its time: per-primitive forward/backward and cProfile.

    /work/venv/bin/python benchmarks/profile_step.py resnet20          # op table + top functions
    /work/venv/bin/python benchmarks/profile_step.py lenet5 --batch 128 --steps 20
    /work/venv/bin/python benchmarks/profile_step.py resnet20 --cprofile 0   # op table only

The op table wraps every ``Function`` subclass's ``forward`` and ``backward`` with a timer (in
this process only; the library is not modified), so it shows milliseconds per step for each
primitive, plus what is left: module/functional glue in the forward, the autograd engine's own
bookkeeping in the backward, and the optimiser step.
"""
from __future__ import annotations

import argparse
import collections
import cProfile
import functools
import io
import os
import pstats
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _harness import default_threads  # noqa: E402


def _all_subclasses(cls):
    out, todo = set(), [cls]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in out:
                out.add(sub)
                todo.append(sub)
    return out


def instrument():
    """Wrap forward/backward of every Function subclass; return the accumulator dict."""
    # import every op family so its Function subclasses exist
    import convnet.functional  # noqa: F401
    import convnet.nn  # noqa: F401
    from convnet.autograd import Function

    acc = collections.defaultdict(lambda: [0.0, 0, 0.0, 0])  # fwd_s, fwd_n, bwd_s, bwd_n

    def wrap(cls, meth, slot):
        orig = cls.__dict__[meth]

        @functools.wraps(orig)
        def timed(self, *a, **k):
            t0 = time.perf_counter()
            try:
                return orig(self, *a, **k)
            finally:
                rec = acc[cls.__name__]
                rec[slot] += time.perf_counter() - t0
                rec[slot + 1] += 1

        setattr(cls, meth, timed)

    for cls in _all_subclasses(Function):
        if "forward" in cls.__dict__:
            wrap(cls, "forward", 0)
        if "backward" in cls.__dict__:
            wrap(cls, "backward", 2)
    return acc


def _minor_faults():
    """Minor page faults of this process so far (fresh memory touched for the first time; each
    costs ~2 us here, so a step that allocates large arrays anew shows them)."""
    try:
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    except ImportError:  # pragma: no cover - not on Unix
        return 0


def make_step(model, batch, threads):
    from threadpoolctl import threadpool_limits

    import convnet as cn
    import convnet.functional as F
    from convnet import models, optim

    limiter = threadpool_limits(limits=threads, user_api="blas")
    net = getattr(models, model)()
    opt = optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    shape = (1, 32, 32) if model == "lenet5" else (3, 32, 32)
    rng = np.random.default_rng(2)
    x = cn.tensor(rng.standard_normal((batch,) + shape).astype(np.float32))
    y = cn.tensor(rng.integers(0, 10, batch))
    phase = collections.defaultdict(float)

    def step():
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = F.cross_entropy(net(x), y)
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        opt.step()
        t3 = time.perf_counter()
        phase["forward (incl. zero_grad)"] += t1 - t0
        phase["backward"] += t2 - t1
        phase["optimizer step"] += t3 - t2

    step.limiter = limiter
    return step, phase


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("model", choices=["lenet5", "resnet20"])
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--threads", type=int, default=default_threads())
    p.add_argument("--cprofile", type=int, default=25, help="top-N functions by own time (0: skip)")
    args = p.parse_args(argv)

    acc = instrument()
    step, phase = make_step(args.model, args.batch, args.threads)
    step()  # warm-up
    acc.clear()
    phase.clear()
    faults0 = _minor_faults()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        step()
    total = (time.perf_counter() - t0) / args.steps * 1e3
    n = args.steps
    faults = (_minor_faults() - faults0) / n

    print(f"{args.model} train step, batch {args.batch}, threads {args.threads}: {total:.1f} ms/step "
          f"(mean of {n}; timers add a little overhead); {faults:.0f} page faults a step")
    for k, v in phase.items():
        print(f"  {k:28s} {v / n * 1e3:8.1f} ms")
    fwd_ops = sum(r[0] for r in acc.values()) / n * 1e3
    bwd_ops = sum(r[2] for r in acc.values()) / n * 1e3
    print(f"  {'forward: primitives':28s} {fwd_ops:8.1f} ms  (glue = forward - this = "
          f"{phase['forward (incl. zero_grad)'] / n * 1e3 - fwd_ops:.1f} ms)")
    print(f"  {'backward: primitives':28s} {bwd_ops:8.1f} ms  (engine = backward - this = "
          f"{phase['backward'] / n * 1e3 - bwd_ops:.1f} ms)")
    print(f"\n{'primitive':24s} {'calls':>6s} {'fwd ms':>8s} {'bwd ms':>8s} {'total':>8s} {'share':>6s}")
    rows = sorted(acc.items(), key=lambda kv: -(kv[1][0] + kv[1][2]))
    for name, (fs, fn, bs, bn) in rows:
        tot = (fs + bs) / n * 1e3
        print(f"{name:24s} {fn // n:6d} {fs / n * 1e3:8.2f} {bs / n * 1e3:8.2f} {tot:8.2f} {tot / total:6.1%}")

    if args.cprofile:
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(args.steps):
            step()
        prof.disable()
        s = io.StringIO()
        pstats.Stats(prof, stream=s).sort_stats("tottime").print_stats(args.cprofile)
        print("\n" + "\n".join(s.getvalue().splitlines()[4:]))


if __name__ == "__main__":
    main()
