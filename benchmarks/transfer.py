"""Transfer learning on real data: which of the notes' recipes wins with 10 or 100 labels per class?

Pretrain LeNet-5 on MNIST digits 0-4, then learn two new tasks from 10 or 100 labelled images per
class: MNIST digits 5-9 (a near task) and Fashion-MNIST (a far one). Four methods, the same budget
of optimizer steps each (Adam, batch 32), several seeds:

- ``features``: run the frozen base once (``cn.extract_features`` up to ``features``, 120 values
  per image), train a fresh shallow net (120 -> 84 -> classes, LeNet's classifier) on the cache;
- ``head``: a new output layer on the frozen base (``replace_head`` + ``freeze``), trained on the fly;
- ``finetune``: a new output layer, every layer trained, the base at a 10x smaller learning rate
  (``param_groups``);
- ``scratch``: LeNet-5 from random weights.

Test accuracy is measured on the whole test split of the new task. A second measurement times the
notes' "to go faster" claim: the same head trained on cached penultimate features vs through the
frozen base, same batches (their weights agree, see tests/test_transfer_features.py).

    CONVNET_DATA=/work/shared/datasets .venv/bin/python benchmarks/transfer.py
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

import numpy as np

import convnet as cn
from convnet import data, models, nn
from convnet.transfer import extract_features, freeze, param_groups, replace_head, unfreeze

METHODS = ("features", "head", "finetune", "scratch")


def subset(ds, classes, per_class=None, seed=0, name=None):
    """An ImageDataset of ``ds``'s samples of ``classes`` (relabelled 0..k-1), ``per_class`` of each."""
    labels = np.asarray(ds.labels)
    rng = np.random.default_rng(seed)
    idx = []
    for c in classes:
        where = np.flatnonzero(labels == c)
        idx.append(rng.permutation(where)[:per_class] if per_class else where)
    idx = np.sort(np.concatenate(idx))
    remap = np.full(labels.max() + 1, -1, np.int64)
    remap[list(classes)] = np.arange(len(classes))
    norm = ds.normalization
    return data.ImageDataset(ds._raw[idx], remap[labels[idx]], norm["mean"], norm["std"], pad=ds.pad,
                             classes=[ds.classes[c] for c in classes], name=name or ds.name)


def train_steps(model, optimizer, dataset, steps, seed):
    """``steps`` Adam steps over seeded shuffled batches of 32 (cycling through the epochs)."""
    loader = data.DataLoader(dataset, batch_size=32, shuffle=True, seed=seed)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    done = 0
    while done < steps:
        for x, y in loader:
            optimizer.zero_grad()
            loss_fn(model(x), y).backward()
            optimizer.step()
            done += 1
            if done == steps:
                break


def accuracy(model, dataset):
    from convnet.train import evaluate

    return evaluate(model, data.DataLoader(dataset, batch_size=500))["accuracy"]


def pretrain(mnist, epochs, seed):
    cn.manual_seed(seed)
    model = models.get("lenet5", num_classes=5)
    source = subset(mnist["train"], range(5))
    cn.fit(model, data.DataLoader(source, batch_size=64, shuffle=True, seed=seed), epochs=epochs, lr=2e-3,
           progress=False)
    return model, accuracy(model, subset(mnist["test"], range(5)))


def run_method(method, base_state, train, test, steps, seed, lr, tmp, test_feats):
    k = len(train.classes)
    cn.manual_seed(seed)
    model = models.get("lenet5", num_classes=5)
    if method != "scratch":
        model.load_state_dict(base_state)
    t0 = time.perf_counter()
    if method == "scratch":
        model = models.get("lenet5", num_classes=k)
        train_steps(model, cn.optim.Adam(model.parameters(), lr=lr), train, steps, seed)
        return accuracy(model, test), time.perf_counter() - t0
    if method == "features":
        freeze(model)
        feats = extract_features(model, train, "features", os.path.join(tmp, f"train-{seed}.safetensors"),
                                 resume=False)
        flat = data.TensorDataset(feats.arrays[0].reshape(len(feats), -1), feats.arrays[1])
        shallow = nn.Sequential(nn.Linear(flat.arrays[0].shape[1], 84), nn.ReLU(), nn.Linear(84, k))
        train_steps(shallow, cn.optim.Adam(shallow.parameters(), lr=lr), flat, steps, seed)
        seconds = time.perf_counter() - t0
        tf = data.TensorDataset(test_feats[id(test)].arrays[0].reshape(len(test), -1), test_feats[id(test)].arrays[1])
        return accuracy(shallow, tf), seconds
    replace_head(model, k)
    if method == "head":
        freeze(model)
        unfreeze(model, "classifier.output")
        opt = cn.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    else:
        opt = cn.optim.Adam(param_groups(model, head_lr=lr, base_lr=lr / 10), lr=lr)
    train_steps(model, opt, train, steps, seed)
    return accuracy(model, test), time.perf_counter() - t0


def speed(base_state, train, steps, seed, tmp):
    """Seconds to train LeNet's new output layer for ``steps`` steps: on the fly vs extraction + cache."""
    times = {}
    for how in ("on the fly", "cached"):
        cn.manual_seed(seed)
        model = models.get("lenet5", num_classes=5)
        model.load_state_dict(base_state)
        head = replace_head(model, len(train.classes))
        freeze(model)
        unfreeze(model, "classifier.output")
        t0 = time.perf_counter()
        opt = cn.optim.Adam(head.parameters(), lr=1e-3)
        if how == "cached":
            feats = extract_features(model, train, None, os.path.join(tmp, "speed.safetensors"), resume=False)
            train_steps(head, opt, feats, steps, seed)
        else:
            train_steps(model, opt, train, steps, seed)
        times[how] = time.perf_counter() - t0
    return times


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", default=os.environ.get("CONVNET_DATA"))
    p.add_argument("--pretrain-epochs", type=int, default=2)
    p.add_argument("--steps", type=int, default=300, help="optimizer steps per method (the same budget)")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--per-class", type=int, nargs="+", default=[10, 100])
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--json", default="docs/transfer_results.json")
    p.add_argument("--plot", default="docs/_static/transfer.png")
    args = p.parse_args(argv)
    start = time.perf_counter()
    mnist = {s: data.get("mnist", s, root=args.data_dir) for s in ("train", "test")}
    fashion = {s: data.get("fashion-mnist", s, root=args.data_dir) for s in ("train", "test")}
    base, src_acc = pretrain(mnist, args.pretrain_epochs, seed=0)
    base_state = {k: v._data.copy() for k, v in base.state_dict().items()}
    print(f"pretrained LeNet-5 on MNIST 0-4 ({args.pretrain_epochs} epochs, seed 0): test accuracy {src_acc:.4f} "
          f"[{time.perf_counter() - start:.0f} s]", flush=True)
    tasks = {"MNIST 5-9": (mnist, range(5, 10)), "Fashion-MNIST": (fashion, range(10))}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for task, (ds, classes) in tasks.items():
            test = subset(ds["test"], classes)
            frozen = models.get("lenet5", num_classes=5)
            frozen.load_state_dict(base_state)
            test_feats = {id(test): extract_features(frozen, test, "features", os.path.join(tmp, "test.safetensors"),
                                                     resume=False)}
            for n in args.per_class:
                for seed in range(args.seeds):
                    train = subset(ds["train"], classes, n, seed=seed)
                    for method in METHODS:
                        acc, sec = run_method(method, base_state, train, test, args.steps, seed, args.lr, tmp,
                                              test_feats)
                        rows.append({"task": task, "per_class": n, "seed": seed, "method": method,
                                     "accuracy": acc, "seconds": round(sec, 2)})
                        print(f"{task:14s} {n:4d}/class seed {seed} {method:9s} accuracy {acc:.4f}  {sec:5.1f} s",
                              flush=True)
        train = subset(mnist["train"], range(5, 10), 100, seed=0)
        times = speed(base_state, train, args.steps * 4, 0, tmp)
    print("\n| task | labels/class | " + " | ".join(METHODS) + " |")
    print("|---|---|" + "---|" * len(METHODS))
    summary = {}
    for task in tasks:
        for n in args.per_class:
            cells = []
            for m in METHODS:
                accs = [r["accuracy"] for r in rows if (r["task"], r["per_class"], r["method"]) == (task, n, m)]
                mean, sd = statistics.mean(accs), statistics.pstdev(accs)
                summary[f"{task}|{n}|{m}"] = (mean, sd)
                cells.append(f"{100 * mean:.1f} ± {100 * sd:.1f}")
            print(f"| {task} | {n} | " + " | ".join(cells) + " |")
    ratio = times["on the fly"] / times["cached"]
    print(f"\nhead training, {args.steps * 4} steps on 500 images: on the fly {times['on the fly']:.2f} s, cached "
          f"features (extraction included) {times['cached']:.2f} s: {ratio:.1f}x faster")
    total = time.perf_counter() - start
    print(f"total wall time {total:.0f} s")
    with open(args.json, "w") as f:
        json.dump({"argv": sys.argv[1:], "source_accuracy": src_acc, "rows": rows, "speed": times,
                   "seconds": round(total, 1)}, f, indent=1)
    plot(summary, tasks, args.per_class, args.plot)


def plot(summary, tasks, per_class, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(tasks), figsize=(10, 3.8), sharey=True)
    width = 0.2
    for ax, task in zip(axes, tasks):
        for i, m in enumerate(METHODS):
            means = [100 * summary[f"{task}|{n}|{m}"][0] for n in per_class]
            sds = [100 * summary[f"{task}|{n}|{m}"][1] for n in per_class]
            ax.bar(np.arange(len(per_class)) + (i - 1.5) * width, means, width, yerr=sds, capsize=3, label=m)
        ax.set_xticks(np.arange(len(per_class)), [f"{n} labels/class" for n in per_class])
        ax.set_title(f"LeNet-5 pretrained on MNIST 0-4 -> {task}")
        ax.set_ylim(0, 100)
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel("test accuracy (%)")
    axes[0].legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"plot: {path}")


if __name__ == "__main__":
    main()
