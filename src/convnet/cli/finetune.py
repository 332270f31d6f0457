"""``convnet finetune`` and ``convnet features``: transfer a trained network to a new dataset.

    convnet finetune runs/lenet5-mnist --dataset fashion-mnist --mode head --epochs 3
    convnet finetune --model lenet5 --weights pretrained.safetensors --dataset digits --mode finetune
    convnet features runs/lenet5-mnist --dataset digits -o digits-feats.safetensors

The start model's output layer is replaced by a fresh one for the new classes
(``convnet.transfer.replace_head``), then, by ``--mode``: ``head`` freezes everything but the new head
and trains it; ``finetune`` freezes ``--freeze PATTERN`` (default nothing) and trains the rest, the
base at ``--base-lr`` (default ``--lr``/10); ``features`` runs the frozen base once over the training
and validation images, caches what the head sees in ``RUN_DIR/features-*.safetensors`` and trains
the head on the cache. Every mode writes the run directory ``convnet train`` writes (checkpoint,
history, curves, confusion matrix, metrics), so ``convnet eval``/``predict`` work on it.
"""
from __future__ import annotations

import argparse
import json
import os
import time

from .train import _error, _finish, _print_epoch, make_optimizer

MODES = ("head", "finetune", "features")
DEFAULT_LR = {"adam": 1e-3, "adamw": 1e-3, "rmsprop": 1e-3, "sgd": 0.01}
_FMT = argparse.RawDescriptionHelpFormatter


def add_parser(sub):
    """Register ``finetune`` and ``features`` on the ``convnet`` command's subparsers."""
    p = sub.add_parser(
        "finetune", help="transfer a trained model to a new dataset (new head, frozen or fine-tuned base)",
        formatter_class=_FMT, description=__doc__.split("\n\n", 2)[2],
        epilog="examples:\n"
               "  convnet finetune runs/lenet5-mnist --dataset fashion-mnist --mode head --epochs 3\n"
               "  convnet finetune runs/lenet5-mnist --dataset digits --mode finetune --lr 1e-3 --base-lr 1e-4\n"
               "  convnet finetune runs/lenet5-mnist --dataset digits --mode features --per-class 10\n"
               "  convnet finetune --model lenet5 --weights lenet.safetensors --dataset digits --mode head")
    p.add_argument("start", metavar="RUN", nargs="?", help="run directory or checkpoint to start from")
    p.add_argument("--model", help="model name to build instead of RUN (with --weights; alone: random weights)")
    p.add_argument("--weights", metavar="FILE", help="weights for --model: a convnet checkpoint or a safetensors "
                   "state_dict")
    _data_args(p)
    p.add_argument("--mode", default="head", choices=MODES, help="head (default): train only the new head on the "
                   "frozen base; finetune: train the unfrozen layers too, the base at --base-lr; features: cache the "
                   "frozen base's features once and train the head on them")
    p.add_argument("--freeze", metavar="PATTERN", action="append",
                   help="parameter/module name pattern to freeze (repeatable), e.g. 'features.*'; default: every "
                        "layer but the head in head/features mode, nothing in finetune mode")
    p.add_argument("--epochs", type=int, default=5, help="epochs (default 5)")
    p.add_argument("--batch-size", type=int, default=32, help="training batch size (default 32)")
    p.add_argument("--optimizer", default="adam", choices=("sgd", "adam", "adamw", "rmsprop"),
                   help="update rule (default adam)")
    p.add_argument("--lr", type=float, default=None, help="learning rate of the head (default 1e-3; sgd 0.01)")
    p.add_argument("--base-lr", type=float, default=None, help="learning rate of the unfrozen base in finetune "
                   "mode (default --lr / 10)")
    p.add_argument("--momentum", type=float, default=0.9, help="momentum for sgd and rmsprop (default 0.9)")
    p.add_argument("--per-class", type=int, default=None, metavar="N",
                   help="use only N labelled training images per class (the first N of each class after a seeded "
                        "shuffle)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--out", metavar="DIR", help="run directory (default runs/<model>-<dataset>-<mode>-<date>-<time>)")
    p.add_argument("--force", action="store_true", help="write into a non-empty --out directory")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run_finetune)

    f = sub.add_parser(
        "features", help="cache a trained model's features of a dataset in a safetensors file", formatter_class=_FMT,
        description="Run a checkpoint over a dataset split once, in eval mode, up to --layer (default: the input\n"
                    "of the final layer), and write the features (N, ...) and labels (N,) to one safetensors\n"
                    "file. Written in resumable chunks: rerun the same command after an interruption.",
        epilog="example:\n  convnet features runs/lenet5-mnist --dataset digits -o digits-train.safetensors\n"
               "  convnet features runs/lenet5-mnist --dataset mnist --split test --layer features -o f.safetensors")
    f.add_argument("start", metavar="RUN", help="run directory or checkpoint")
    _data_args(f)
    f.add_argument("--split", default="train", choices=("train", "val", "test"), help="split (default train)")
    f.add_argument("--layer", help="module name whose output is kept (default: the final layer's input)")
    f.add_argument("-o", "--output", required=True, metavar="FILE", help="features file (.safetensors)")
    f.add_argument("--batch-size", type=int, default=256, help="samples per forward pass (default 256)")
    f.add_argument("--no-resume", action="store_true", help="recompute everything instead of reusing chunks")
    f.set_defaults(func=run_features)


def _data_args(p):
    p.add_argument("--dataset", default="digits", help="digits (default, offline), mnist, fashion-mnist, or folder "
                   "(your own images: --data-dir DIR with one sub-folder per class)")
    p.add_argument("--data-dir", metavar="DIR", help="where MNIST/Fashion-MNIST files are (overrides $CONVNET_DATA), "
                   "or the image folder")


def _start_model(args):
    """The trained model to transfer from: RUN (a checkpoint), or --model [--weights]."""
    from .. import models
    from ..checkpoint import load_model, load_state

    if args.start and args.model:
        raise _error("give either RUN or --model, not both")
    if args.start:
        if args.weights:
            raise _error("--weights goes with --model; RUN already holds its weights")
        return load_model(args.start)
    if not args.model:
        raise _error("give the model to start from: a run directory / checkpoint (RUN), or --model NAME --weights "
                     "FILE")
    if args.model not in models.names():
        raise _error(f"--model: unknown model {args.model!r}; valid names: {', '.join(models.names())}")
    if not args.weights:
        return models.get(args.model)
    from ..transfer import find_head

    state = load_state(args.weights)
    head = find_head(models.get(args.model))[0]
    key = f"{head}.weight"
    n = state[key].shape[0] if key in state else None
    model = models.get(args.model, num_classes=n)
    from ..nn import Conv2d

    conv = next((f"{k}.weight" for k, m in model.named_modules() if isinstance(m, Conv2d)), None)
    if conv in state and state[conv].shape[1] != model.config["in_channels"]:  # e.g. weights of a grey model
        model = models.get(args.model, num_classes=n, in_channels=int(state[conv].shape[1]))
    try:
        model.load_state_dict(state)
    except (KeyError, ValueError) as e:
        raise _error(f"--weights {args.weights} does not fit {args.model}: {e.args[0]}") from None
    return model


def _splits(args, model):
    from .. import data, models

    # the image size the start model was trained at (its checkpoint says), else the model's own
    shape = (getattr(model, "checkpoint_meta", None) or {}).get("input_shape")
    size = shape[-1] if shape else models.default_input_shape(model.config["name"])[1]
    if args.dataset.lower().replace("_", "-") not in data.DATASETS:
        raise _error(f"unknown dataset {args.dataset!r}; valid names: {', '.join(data.DATASETS)}")
    if args.data_dir is not None and not os.path.isdir(os.path.expanduser(args.data_dir)):
        raise _error(f"--data-dir {args.data_dir}: no such directory")
    if args.dataset == "folder":  # your own images, read with the start model's channels (grey or colour)
        if args.data_dir is None:
            raise _error("--dataset folder needs --data-dir DIR (one sub-folder of images per class)")
        return data.folder_splits(args.data_dir, size=size, channels=model.config["in_channels"])
    return data.load_splits(args.dataset, root=args.data_dir, size=size)


def per_class_subset(dataset, n, seed):
    """The first ``n`` samples of every class after a seeded shuffle (all of a class when it has fewer)."""
    import numpy as np

    from ..data import Subset

    labels = np.asarray(dataset.labels)
    order = np.random.default_rng(seed).permutation(len(labels))
    keep = np.concatenate([order[labels[order] == c][:n] for c in np.unique(labels)])
    return Subset(dataset, np.sort(keep))


def run_finetune(args):
    from ..rundir import run_directory

    start = time.perf_counter()
    for opt, v in (("--epochs", args.epochs), ("--batch-size", args.batch_size)):
        if v < 1:
            raise _error(f"{opt} must be at least 1, received {v}")
    if args.per_class is not None and args.per_class < 1:
        raise _error(f"--per-class must be at least 1, received {args.per_class}")
    for opt, v in (("--lr", args.lr), ("--base-lr", args.base_lr)):
        if v is not None and not v >= 0:
            raise _error(f"{opt} must be a non-negative number, received {v}")
    if args.mode == "features" and args.freeze:
        raise _error("--freeze does not apply to --mode features: it caches what the head sees, so every layer "
                     "below the head is frozen; use --mode head or finetune to choose the frozen layers")
    model = _start_model(args)
    name = model.config["name"]
    out = args.out or os.path.join("runs", f"{name}-{args.dataset}-{args.mode}-{time.strftime('%Y%m%d-%H%M%S')}")
    with run_directory(out, fresh=True, force=args.force, option="--out"):
        return _finetune(args, model, out, start)


def _finetune(args, model, out, start):
    import convnet as cn

    from .. import data
    from ..checkpoint import atomic_write
    from ..train import Trainer
    from ..transfer import extract_features, find_head, freeze, param_groups, replace_head, unfreeze

    cn.manual_seed(args.seed)
    splits = _splits(args, model)
    train_set = splits["train"]
    if args.per_class:
        train_set = per_class_subset(train_set, args.per_class, args.seed)
    if train_set.input_shape[0] != model.config["in_channels"]:
        raise _error(f"{args.dataset} images have {train_set.input_shape[0]} channel(s) but the model takes "
                     f"{model.config['in_channels']}")
    classes = list(splits["train"].classes)
    model.train()
    replace_head(model, len(classes))
    head_name = find_head(model)[0]
    lr = args.lr if args.lr is not None else DEFAULT_LR[args.optimizer]
    base_lr = args.base_lr if args.base_lr is not None else lr / 10
    if args.freeze:
        frozen = freeze(model, args.freeze)
    elif args.mode in ("head", "features"):
        frozen = freeze(model)
        unfreeze(model, head_name)
        frozen = [n for n in frozen if not (n == head_name or n.startswith(head_name + "."))]
    else:
        frozen = []
    s = {"start": args.start or args.weights, "model": model.config["name"], "dataset": args.dataset,
         "data_dir": args.data_dir, "mode": args.mode, "freeze": args.freeze, "epochs": args.epochs,
         "batch_size": args.batch_size, "optimizer": args.optimizer, "lr": lr, "base_lr": base_lr,
         "momentum": args.momentum, "per_class": args.per_class, "seed": args.seed, "head": head_name,
         "frozen": frozen}
    atomic_write(os.path.join(out, "config.json"), json.dumps(s, indent=2) + "\n")
    meta = {"dataset": train_set.name, "classes": classes, "normalization": train_set.normalization,
            "input_shape": list(train_set.input_shape),
            "dark_background": getattr(splits["train"], "dark_background", True), "settings": s}
    callbacks = [_print_epoch] if args.no_progress else []
    val_loader = data.DataLoader(splits["val"], batch_size=256)
    test_loader = data.DataLoader(splits["test"], batch_size=256)
    print(f"transferring {s['model']} to {train_set.name} ({len(classes)} classes, {len(train_set)} training "
          f"images), mode {args.mode}: {len(frozen)} frozen / "
          f"{sum(p.requires_grad for p in model.parameters())} trainable parameter tensors", flush=True)
    if args.mode == "features":
        head = model.get_submodule(head_name)
        feats = extract_features(model, train_set, None, os.path.join(out, "features-train.safetensors"))
        val_feats = extract_features(model, splits["val"], None, os.path.join(out, "features-val.safetensors"))
        print(f"cached features {tuple(feats.arrays[0].shape[1:])} of {len(feats)} training and {len(val_feats)} "
              "validation images", flush=True)
        optimizer = make_optimizer(args.optimizer, head.parameters(), lr, args.momentum, 0.0)
        trainer = Trainer(head, optimizer, meta=meta, callbacks=callbacks, keep="last")
        trainer.fit(data.DataLoader(feats, batch_size=args.batch_size, shuffle=True, seed=args.seed),
                    data.DataLoader(val_feats, batch_size=256), epochs=args.epochs, progress=not args.no_progress)
        _save_run(model, trainer, out, meta)
        trainer.model = model
    else:
        groups = param_groups(model, lr, base_lr, head=head_name)
        optimizer = make_optimizer(args.optimizer, groups, lr, args.momentum, 0.0)
        trainer = Trainer(model, optimizer, meta=meta, callbacks=callbacks, keep="last")
        trainer.fit(data.DataLoader(train_set, batch_size=args.batch_size, shuffle=True, seed=args.seed),
                    val_loader, epochs=args.epochs, checkpoint_dir=out, progress=not args.no_progress)
    _finish(trainer, {"model": s["model"]}, out, splits["train"], test_loader, start)
    return 0


def _save_run(model, trainer, out, meta):
    """The checkpoint and history of a head trained on cached features: the whole model, as ``fit`` writes."""
    from ..checkpoint import save
    from ..train import _write_history, strict_json

    last = trainer.history[-1]
    meta = dict(meta, epoch=trainer.epoch, **{k: last[k] for k in ("val_accuracy", "val_loss", "train_accuracy",
                                                                   "train_loss") if k in last})
    save(os.path.join(out, "model.safetensors"), model, meta=strict_json(meta)[0])
    _write_history(out, trainer.history)


def run_features(args):
    from ..checkpoint import load_model
    from ..transfer import extract_features

    start = time.perf_counter()
    if args.batch_size < 1:
        raise _error(f"--batch-size must be at least 1, received {args.batch_size}")
    model = load_model(args.start)
    dataset = _splits(args, model)[args.split]
    feats = extract_features(model, dataset, args.layer, args.output, batch_size=args.batch_size,
                             resume=not args.no_resume)
    print(f"features {tuple(feats.arrays[0].shape)} of {dataset.name} {args.split} (layer "
          f"{feats.meta.get('layer')}, {feats.meta.get('where')}) -> {args.output} "
          f"[{time.perf_counter() - start:.1f} s]")
    return 0

