"""``convnet eval``, ``convnet predict`` and ``convnet summary``: use a checkpoint or a named model."""
from __future__ import annotations

import os

import numpy as np


def _error(msg):
    from .main import CLIError

    return CLIError(msg)


def _format_confusion(cm, classes):
    names = [str(c)[:8] for c in classes]
    w = max(4, *(len(n) for n in names), len(str(int(cm.max()))) + 1)
    lines = [" " * (w + 1) + " ".join(n.rjust(w) for n in names)]
    for name, row in zip(names, cm):
        lines.append(name.rjust(w) + " " + " ".join(str(int(v)).rjust(w) for v in row))
    return "\n".join(lines)


def run_eval(args):
    from .. import data
    from ..checkpoint import load
    from ..train import evaluate

    model = load(args.checkpoint)
    meta = model.checkpoint_meta
    name = args.dataset or meta.get("dataset")
    if not name:
        raise _error(f"{args.checkpoint} does not record its dataset; pass --dataset "
                     f"({', '.join(data.DATASETS)})")
    if name.lower().replace("_", "-") not in data.DATASETS:
        raise _error(f"unknown dataset {name!r}; valid names: {', '.join(data.DATASETS)}")
    if args.split not in ("train", "val", "test"):
        raise _error(f"--split must be train, val or test, received {args.split!r}")
    size = (meta.get("input_shape") or [None, 32])[1]
    root = args.data_dir or (meta.get("settings") or {}).get("data_dir")  # where training found the files
    if args.split == "test":
        dataset = data.get(name, "test", root=root, size=size)
    else:
        dataset = data.load_splits(name, root=root, size=size)[args.split]
    results = evaluate(model, data.DataLoader(dataset, batch_size=args.batch_size), top_k=args.top_k)
    k = results["top_k"]
    arch = model.config.get("name", type(model).__name__) if hasattr(model, "config") else type(model).__name__
    print(f"checkpoint: {args.checkpoint} ({arch}, trained on {meta.get('dataset', '?')}, "
          f"epoch {meta.get('epoch', '?')})")
    print(f"{name} {args.split}: {results['num_samples']} images")
    print(f"loss {results['loss']:.4f}   accuracy {results['accuracy']:.2%}   "
          f"top-{k} accuracy {results[f'top{k}_accuracy']:.2%}")
    print("confusion matrix (rows: true class, columns: predicted class):")
    print(_format_confusion(results["confusion_matrix"], getattr(dataset, "classes", range(len(results[
        "confusion_matrix"])))))
    return 0


def run_predict(args):
    import convnet as cn

    from ..checkpoint import load
    from ..data.images import load_image_batch

    if args.top_k < 1:
        raise _error(f"--top-k must be at least 1, received {args.top_k}")
    model = load(args.checkpoint)
    meta = model.checkpoint_meta
    shape = meta.get("input_shape")
    if not shape:
        from .. import models

        shape = models.default_input_shape(model.config["name"])
    invert = args.invert if meta.get("dark_background", True) else "no"
    recipe = args.prepare
    if recipe == "auto":
        recipe = {"digits": "digits", "mnist": "mnist"}.get(meta.get("dataset"), "resize")
    x = load_image_batch(args.images, shape, meta.get("normalization"), recipe=recipe, invert=invert)
    with cn.no_grad():
        probs = model(cn.Tensor(x)).softmax(1).numpy()  # (N, num_classes)
    classes = meta.get("classes") or [str(k) for k in range(probs.shape[1])]
    k = min(args.top_k, probs.shape[1])
    for path, p in zip(args.images, probs):
        top = np.argsort(-p, kind="stable")[:k]
        ranked = "  ".join(f"{classes[i]} ({p[i]:.1%})" for i in top)
        print(f"{os.path.basename(path)}: {ranked}")
    return 0


def run_summary(args):
    from .. import models
    from ..summary import main_summary

    if args.list:
        print("\n".join(f"{n:14s} input {models.default_input_shape(n)}" for n in models.names()))
        return 0
    if not args.model:
        raise _error("give a MODEL name (or --list to see them)")
    if args.model not in models.names():
        raise _error(f"unknown model {args.model!r}; valid names: {', '.join(models.names())}")
    print(main_summary(args.model, input_shape=args.input_shape, num_classes=args.num_classes))
    return 0
