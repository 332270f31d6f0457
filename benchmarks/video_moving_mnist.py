"""Moving MNIST: direction of motion (8 classes) and digit (10) from a clip, three models at the same budget.

(a) ``frame_avg_cnn``: a 2-D CNN on single frames, logits averaged over time; (b) ``c3d_small``: 3-D
convolutions; (c) ``cnn_lstm``: per-frame CNN features into an LSTM. Each model has 18 outputs (8 direction
logits + 10 digit logits) trained with the sum of the two cross-entropies: same clips, same epochs, same
optimizer and batch size. Writes a frame strip of test clips with every model's predictions and a JSON.

    CONVNET_DATA=/work/shared/datasets .venv/bin/python benchmarks/video_moving_mnist.py
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

import convnet as cn
import convnet.functional as F
from convnet import data, models, optim
from convnet.data.moving_mnist import DIRECTIONS

MODELS = ("frame_avg_cnn", "c3d_small", "cnn_lstm")
ARROWS = ("→", "↗", "↑", "↖", "←", "↙", "↓", "↘")


def train(name, train_set, test_set, args):
    cn.manual_seed(args.seed)
    model = models.video.get(name, num_classes=18, width=args.width)
    opt = optim.Adam(model.parameters(), lr=args.lr)
    rng = np.random.default_rng(args.seed)
    t = time.perf_counter()
    for epoch in range(args.epochs):
        model.train()
        perm = rng.permutation(len(train_set))
        for i in range(0, len(perm), args.batch_size):
            x, d, g = train_set.get_batch(perm[i:i + args.batch_size])
            out = model(cn.tensor(x))
            loss = F.cross_entropy(out[:, :8], cn.tensor(d)) + F.cross_entropy(out[:, 8:], cn.tensor(g))
            opt.zero_grad()
            loss.backward()
            opt.step()
        print(f"  {name} epoch {epoch + 1}: last batch loss {float(loss.item()):.3f} "
              f"({time.perf_counter() - t:.0f} s)", flush=True)
    model.eval()
    outs = []
    with cn.no_grad():
        for i in range(0, len(test_set), 128):
            outs.append(model(cn.tensor(test_set.x[i:i + 128])).numpy())
    out = np.concatenate(outs)
    return out[:, :8].argmax(1), out[:, 8:].argmax(1), time.perf_counter() - t, sum(p.numel() for p in model.parameters())


def strip(test_set, preds, path, clips=4):
    """Rows of clips (every frame), titled with the truth and each model's (direction, digit)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t, size = test_set.x.shape[2], test_set.x.shape[-1]
    fig, axes = plt.subplots(clips, 1, figsize=(0.75 * t + 0.5, 1.2 * clips))
    for r, ax in enumerate(axes):
        frames = np.pad(test_set.x[r, 0], ((0, 0), (0, 0), (0, 2)), constant_values=0.5)  # grey separators
        ax.imshow(frames.transpose(1, 0, 2).reshape(size, -1), cmap="gray", vmin=0, vmax=1)  # (H, T*(W+2))
        ax.set_xticks([])
        ax.set_yticks([])
        truth = f"true {ARROWS[test_set.direction[r]]} {test_set.digit[r]}"
        guesses = "   ".join(f"{n}: {ARROWS[p[0][r]]} {p[1][r]}" for n, p in preds.items())
        ax.set_title(f"{truth}   |   {guesses}", fontsize=8, loc="left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--train", type=int, default=2000)
    p.add_argument("--test", type=int, default=1000)
    p.add_argument("--frames", type=int, default=8)
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--digit-size", type=int, default=14)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--width", type=int, default=12)
    p.add_argument("--digits", type=int, default=1, choices=[1, 2],
                   help="digits per clip (2: the labelled one is the smaller class)")
    p.add_argument("--no-bounce", dest="bounce", action="store_false",
                   help="straight paths that never touch a wall (default: digits bounce off the walls)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--models", default=",".join(MODELS))
    p.add_argument("--out", default="docs/_static/video_moving_mnist.png")
    p.add_argument("--json", default="docs/video_moving_mnist.json")
    args = p.parse_args()
    start = time.perf_counter()
    kw = dict(frames=args.frames, size=args.size, digit_size=args.digit_size, seed=args.seed,
              num_digits=args.digits, bounce_walls=args.bounce)
    train_set = data.moving_mnist("train", args.train, **kw)
    test_set = data.moving_mnist("test", args.test, **kw)
    print(f"moving MNIST: {args.train} train / {args.test} test clips of {args.frames} frames {args.size}x{args.size}, "
          f"{args.digits} digit(s) of {args.digit_size} px, {train_set.speed} px/frame, "
          f"{'bouncing' if args.bounce else 'straight'}; chance: direction 12.5%, digit 10%")
    results, preds = {}, {}
    for name in args.models.split(","):
        d, g, seconds, params = train(name, train_set, test_set, args)
        preds[name] = (d, g)
        results[name] = {"direction_accuracy": float((d == test_set.direction).mean()),
                         "digit_accuracy": float((g == test_set.digit).mean()), "seconds": round(seconds, 1),
                         "parameters": int(params)}
        r = results[name]
        print(f"{name:14s} direction {r['direction_accuracy']:.1%}  digit {r['digit_accuracy']:.1%}  "
              f"({params} parameters, {seconds:.0f} s)", flush=True)
    strip(test_set, preds, args.out)
    cmd = ("CONVNET_DATA=/work/shared/datasets .venv/bin/python benchmarks/video_moving_mnist.py "
           + " ".join(f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items()
                      if k not in ("out", "json", "bounce")) + ("" if args.bounce else " --no-bounce"))
    with open(args.json, "w") as f:
        json.dump({"command": cmd, "results": results, "directions": list(DIRECTIONS),
                   "wall_seconds": round(time.perf_counter() - start, 1)}, f, indent=1)
    print(f"wrote {args.out} and {args.json}; total {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
