"""``convnet reproduce NAME``: train one of the defined reproductions of a published result.

A thin shell over :func:`convnet.reproduce.run` and :func:`convnet.reproduce.write_report`.
"""
from __future__ import annotations


def add_parser(sub):
    import argparse

    from .. import reproduce

    lines = "\n".join(f"  {n:26s} {r.paper}: {r.measured} (published {r.published}; target {r.target})"
                      for n, r in reproduce.RUNS.items())
    p = sub.add_parser(
        "reproduce", help="train a reproduction of a published result (LeNet-5 on MNIST, ...)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train a defined reproduction with its fixed budget and seed, then write results.json,\n"
                    "training_curve.png and confusion_matrix_<arm>.png (plus each arm's checkpoint) into --out.\n\n"
                    f"runs:\n{lines}",
        epilog="examples:\n  convnet reproduce lenet5-mnist --out runs/lenet5-mnist\n"
               "  convnet reproduce lenet5-mnist --epochs 1 --limit 6000   # a quick check")
    p.add_argument("name", metavar="NAME", help="the reproduction (see the list above)")
    p.add_argument("--epochs", type=int, default=None, help="override the run's epoch budget")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--out", metavar="DIR", default=None, help="output folder (default runs/reproduce-NAME)")
    p.add_argument("--data-dir", metavar="DIR", help="where MNIST/Fashion-MNIST files are (default $CONVNET_DATA)")
    p.add_argument("--limit", type=int, default=None, help="train on the first N training images only")
    p.add_argument("--batch-size", type=int, default=None, help="override the run's batch size")
    p.add_argument("--workers", type=int, default=0, metavar="N",
                   help="loader processes that build and augment the training batches (default 0; the same "
                        "batches, so the same result)")
    p.set_defaults(func=run_reproduce)


def run_reproduce(args):
    import os

    from .. import reproduce
    from .main import CLIError

    if args.name not in reproduce.RUNS:
        raise CLIError(f"unknown run {args.name!r}; valid names: {', '.join(reproduce.names())}")
    for key in ("epochs", "limit", "batch_size"):
        value = getattr(args, key)
        if value is not None and value < 1:
            raise CLIError(f"--{key.replace('_', '-')} must be at least 1, received {value}")
    if args.workers < 0:
        raise CLIError(f"--workers must be a non-negative integer, received {args.workers}")
    out = args.out or os.path.join("runs", f"reproduce-{args.name}")
    result = reproduce.run(args.name, epochs=args.epochs, seed=args.seed, out=out, root=args.data_dir,
                           limit=args.limit, log=lambda line: print(line, flush=True),
                           batch_size=args.batch_size, num_workers=args.workers)
    for path in reproduce.write_report(result, out):
        print(f"wrote {path}")
    return 0
