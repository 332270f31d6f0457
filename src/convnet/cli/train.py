"""``convnet train``: build the model, data and optimizer from the arguments, fit, evaluate, report.

The defaults train LeNet-5 on the scikit-learn digits to 97-99% test accuracy in well under a
minute on two CPU cores (see DEFAULTS).

Run directories (``--out``): one run at a time (``RUN_DIR/.lock``, see ``convnet.rundir``); a
non-empty directory needs ``--resume`` or ``--force``. ``config.json`` holds every setting,
``epochs`` (the planned total) included; ``metrics.json`` is written last and marks a finished run.

``--resume RUN_DIR`` continues with the run's own settings (missing keys of an older config take
the defaults) up to its own total, or up to ``--epochs N``; a different total re-plans the
cosine/step schedule as if the run had started with ``--epochs N`` (rebuilt and replayed to the
current epoch, so "1 then resume to 2" equals 2 straight, bit for bit). A run whose epochs are all
done but whose test evaluation is missing is finished without training.

Bad options are refused up front with one line naming the option; a NaN/inf loss stops the run
with one line (exit 2) and leaves the last finite checkpoint in place.
"""
from __future__ import annotations

import contextlib
import json
import os
import sys
import time

from ..train import Callback

# Chosen by measuring 10 seeds (README, "Measurements"): Adam at 2e-3 with cosine decay and random
# 2-pixel shifts reaches 97.5-99% test accuracy on the 359 held-out digits in 20 epochs of 1,295 images.
DEFAULTS = {
    "model": "lenet5",
    "dataset": "digits",
    "data_dir": None,
    "epochs": 20,
    "batch_size": 32,
    "optimizer": "adam",
    "lr": {"adam": 2e-3, "adamw": 2e-3, "rmsprop": 1e-3, "sgd": 0.05},
    "momentum": 0.9,
    "weight_decay": 0.0,
    "schedule": "cosine",
    "augment": "crop",
    "patience": None,
    "keep": "last",
    "image_size": None,
    "seed": 0,
    "model_options": {},
}
_SETTINGS = ("model", "dataset", "data_dir", "epochs", "batch_size", "lr", "optimizer", "momentum", "weight_decay",
             "schedule", "augment", "patience", "keep", "image_size", "seed", "model_options")
# The side of the images each dataset really has (the model's input size is reached by resizing/padding).
_NATIVE_SIZE = {"digits": 8, "mnist": 28, "fashion-mnist": 28}  # folder: images of any size, resized


def _error(msg):
    from .main import CLIError

    return CLIError(msg)


def make_optimizer(name, params, lr, momentum, weight_decay):
    from .. import optim

    if name == "sgd":
        return optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "adam":
        return optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    if name == "rmsprop":
        return optim.RMSprop(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    raise _error(f"unknown optimizer {name!r}; valid names: sgd, adam, adamw, rmsprop")


def make_scheduler(name, optimizer, epochs):
    from ..optim import lr_scheduler

    if name == "none":
        return None
    if name == "cosine":
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(epochs, 1))
    if name == "step":
        return lr_scheduler.StepLR(optimizer, step_size=max(epochs // 3, 1), gamma=0.1)
    if name == "plateau":
        return lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.1, patience=2)
    raise _error(f"unknown schedule {name!r}; valid names: none, cosine, step, plateau")


def make_augmentation(name, dataset):
    """Batch transform for ``--augment``; uncovered pixels get the value of a black pixel."""
    from ..data.augment_presets import PRESETS, preset

    if name not in PRESETS and name not in (None, False):
        raise _error(f"unknown augmentation {name!r}; valid names: {', '.join(PRESETS)}")
    return preset(name, dataset)


def _default_out(model, dataset):
    base = os.path.join("runs", f"{model}-{dataset}-{time.strftime('%Y%m%d-%H%M%S')}")
    out, k = base, 2
    while os.path.exists(out):
        out, k = f"{base}-{k}", k + 1
    return out


def parse_model_options(items):
    """``["pool=max+mean", "residual=False"]`` -> ``{"pool": "max+mean", "residual": False}``.

    A value is read as a Python literal (numbers, True/False/None, tuples, quoted strings) and kept as a
    string when it is not one.
    """
    import ast

    out = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip().isidentifier():
            raise _error(f"--model-option expects KEY=VALUE with KEY an option name, received {item!r}")
        try:
            out[key.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            out[key.strip()] = value.strip()
    return out


def check_model_options(name, options):
    """Refuse, naming the valid ones, an option the model's builder does not take (or one set by the job)."""
    import inspect

    from .. import models

    known = set(inspect.signature(models._lookup(name, "train")[0]).parameters) - {"num_classes", "in_channels",
                                                                                   "vocab_size"}
    bad = sorted(set(options) - known)
    if bad:
        raise _error(f"--model-option {', '.join(bad)}: not an option of model {name!r}; its options are "
                     f"{', '.join(sorted(known)) or 'none'}")


def _load_settings(args):
    """``(settings, run directory)``: from the arguments, or from ``RUN_DIR/config.json`` when resuming.

    A resumed run keeps its own settings; keys missing from an older config.json take the defaults.
    ``settings["epochs"]`` is the run's planned total (the saved one when resuming).
    """
    if not args.resume:
        s = {k: getattr(args, k) for k in _SETTINGS}
        s["model_options"] = parse_model_options(args.model_options)
        s["lr"] = s["lr"] if s["lr"] is not None else DEFAULTS["lr"].get(s["optimizer"], 1e-3)
        s["epochs"] = DEFAULTS["epochs"] if args.epochs is None else args.epochs
        return s, args.out or _default_out(args.model, args.dataset)
    path = os.path.join(args.resume, "config.json")
    if not os.path.isfile(path):
        raise _error(f"--resume {args.resume}: no config.json there (expected a run directory written by "
                     "'convnet train')")
    try:
        with open(path) as f:
            saved = json.load(f)
    except (OSError, ValueError) as e:
        raise _error(f"--resume {args.resume}: cannot read {path} ({e})") from None
    if not isinstance(saved, dict):
        raise _error(f"--resume {args.resume}: {path} is not a convnet run config (expected a JSON object)")
    s = {k: DEFAULTS[k] for k in _SETTINGS}
    s.update(saved)
    if isinstance(s["lr"], dict) or s["lr"] is None:
        s["lr"] = DEFAULTS["lr"].get(s["optimizer"], 1e-3)
    return s, args.resume


def _check_settings(s, resuming):
    """One clear error per bad option, naming it, before anything is built or written."""
    import math

    def opt(key):
        return f"--{key.replace('_', '-')}" + (" (from the run's config.json)" if resuming else "")

    for key in ("epochs", "batch_size"):
        if not isinstance(s[key], int) or s[key] < 1:
            raise _error(f"{opt(key)} must be an integer of at least 1, received {s[key]}")
    for key in ("lr", "momentum", "weight_decay"):
        v = s[key]
        if not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
            raise _error(f"{opt(key)} must be a finite non-negative number, received {v}")
    if s["patience"] is not None and (not isinstance(s["patience"], int) or s["patience"] < 0):
        raise _error(f"{opt('patience')} must be a non-negative integer (epochs without improvement), "
                     f"received {s['patience']}")
    if not isinstance(s["seed"], int) or not 0 <= s["seed"] < 2 ** 63:
        raise _error(f"{opt('seed')} must be a non-negative integer below 2**63, received {s['seed']}")
    if s["image_size"] is not None and (not isinstance(s["image_size"], int) or s["image_size"] < 1):
        raise _error(f"{opt('image_size')} must be a positive integer (the side of the square input in pixels), "
                     f"received {s['image_size']}")
    if s["dataset"] == "folder" and s["data_dir"] is None:
        raise _error("--dataset folder needs --data-dir DIR: a folder with one sub-folder of images per class")
    if s["data_dir"] is not None and not os.path.isdir(os.path.expanduser(s["data_dir"])):
        raise _error(f"{opt('data_dir')} {s['data_dir']}: no such directory (MNIST files are looked for in "
                     "DIR/mnist/ or DIR/fashion-mnist/)")


def _check_input_size(model, name, shape):
    """Refuse an ``--image-size`` the model cannot take: one zero image through it (eval mode, no graph)."""
    import numpy as np

    import convnet as cn

    from ..errors import ShapeError

    was_training = model.training
    model.eval()
    try:
        with cn.no_grad():
            model(cn.Tensor(np.zeros((1,) + tuple(shape), np.float32)))
    except (ShapeError, ValueError, RuntimeError) as e:
        raise _error(f"--image-size {shape[-1]}: {name} cannot take {shape[-2]}x{shape[-1]} inputs ({e}); use a "
                     f"larger --image-size or leave it out (the model's own size)") from None
    finally:
        model.train(was_training)


def _size_warning(s, native):
    """A warning when the model's default input is much larger than the dataset's images (slow, usually unintended)."""
    from .. import models

    size = models.default_input_shape(s["model"])[1]
    if s["image_size"] is not None or native is None or size <= 64 or size <= 2 * native:
        return None
    return (f"warning: {s['model']} takes {size}x{size} inputs by default, so the {native}x{native} {s['dataset']} "
            f"images are resized to {size}x{size} ({(size / native) ** 2:.0f} times the pixels; an epoch can take "
            f"a long time on a CPU); pass --image-size 32 (or another size the model accepts) to train on small "
            "images")


def _replan_schedule(trainer, s, old_total, new_total):
    """Extending (or shortening) a run re-plans its lr schedule over the new total.

    The scheduler is rebuilt for ``new_total`` epochs and replayed up to the current epoch, so the
    run continues exactly as if it had been started with ``--epochs new_total`` (the lr history
    of "5 epochs, then resume to 10" equals that of a straight 10-epoch run; a finished cosine run
    does not restart from lr 0). Returns the line to print, or None when nothing changes.
    """
    if s["schedule"] not in ("cosine", "step") or old_total == new_total or trainer.scheduler is None:
        return None
    opt = trainer.optimizer
    before = opt.param_groups[0]["lr"]
    for group in opt.param_groups:
        group["lr"] = group["initial_lr"]
    trainer.scheduler = make_scheduler(s["schedule"], opt, new_total)
    for _ in range(trainer.epoch):
        trainer.scheduler.step()
    return (f"{'extending' if new_total > old_total else 'shortening'} the run from {old_total} to {new_total} "
            f"epochs: the {s['schedule']} schedule is re-planned as if the run had started with --epochs "
            f"{new_total} (lr for epoch {trainer.epoch + 1}: {opt.param_groups[0]['lr']:.3g}, was {before:.3g})")


def run_train(args):
    from ..rundir import run_directory

    start = time.perf_counter()
    if args.epochs is not None and args.epochs < 1:
        raise _error(f"--epochs must be at least 1, received {args.epochs}")
    if getattr(args, "workers", 0) < 0:
        raise _error(f"--workers must be a non-negative integer, received {args.workers}")
    s, out = _load_settings(args)
    _check_settings(s, resuming=bool(args.resume))
    lock = lambda: run_directory(out, fresh=not args.resume, force=args.force,  # noqa: E731
                                 option="--resume" if args.resume else "--out")
    if not getattr(args, "distributed", False):
        with lock():
            return _train(args, s, out, start)
    import convnet.distributed as dist
    from ..distributed.run import rank_zero_context

    if not dist.is_initialized():
        dist.init_process_group("mpi")
    if s["batch_size"] % dist.get_world_size():
        raise _error(f"--batch-size {s['batch_size']} (the global batch) must divide evenly among the "
                     f"{dist.get_world_size()} ranks")
    with rank_zero_context(lock):  # only rank 0 holds the run directory and writes into it
        if dist.get_rank() != 0:
            args.no_progress = True
            with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):
                return _train(args, s, out, start)
        return _train(args, s, out, start)


def _train(args, s, out, start):
    import convnet as cn

    from .. import data, models
    from ..checkpoint import atomic_write
    from ..train import NonFiniteLossError, Trainer

    if s["dataset"].lower().replace("_", "-") not in data.DATASETS:
        raise _error(f"unknown dataset {s['dataset']!r}; valid names: {', '.join(data.DATASETS)}")
    if s["model"] not in models.names():
        raise _error(f"unknown model {s['model']!r}; valid names: {', '.join(models.names())}")
    check_model_options(s["model"], s["model_options"])

    cn.manual_seed(s["seed"])
    warning = _size_warning(s, _NATIVE_SIZE.get(s["dataset"].lower().replace("_", "-")))
    if warning:
        print(warning, file=sys.stderr, flush=True)
    if data.is_text(s["dataset"]):  # sentences: vocabulary from the training split, --image-size = max tokens
        from ._text_train import text_model_and_splits

        model, splits = text_model_and_splits(s)
        train_set, test_set = splits["train"], splits["test"]
    else:
        size = s["image_size"] or models.default_input_shape(s["model"])[1]
        splits = data.load_splits(s["dataset"], root=s["data_dir"], size=size)
        train_set, test_set = splits["train"], splits["test"]
        channels = train_set.input_shape[0]
        try:
            model = models.get(s["model"], num_classes=len(train_set.classes), in_channels=channels,
                               **s["model_options"])
        except (TypeError, ValueError) as e:
            raise _error(f"--model-option: model {s['model']!r} refused {s['model_options']}: {e}") from None
    if s["image_size"] is not None and not data.is_text(s["dataset"]):
        _check_input_size(model, s["model"], tuple(train_set.input_shape))  # eval mode: draws no random numbers
    optimizer = make_optimizer(s["optimizer"], model.parameters(), s["lr"], s["momentum"], s["weight_decay"])
    scheduler = make_scheduler(s["schedule"], optimizer, s["epochs"])
    transform = make_augmentation(s["augment"], train_set)
    rank, world = _rank_and_world(args)
    workers = getattr(args, "workers", 0)  # not a setting: the batches, hence the run, are the same with any
    pool = dict(num_workers=workers, persistent_workers=True) if workers else {}
    if world > 1:  # each rank: its share of every epoch's order, B / N per step, its own augmentation
        sampler = data.DistributedSampler(train_set, world, rank, shuffle=True, seed=s["seed"])
        train_loader = data.DataLoader(train_set, batch_size=s["batch_size"] // world, sampler=sampler,
                                       seed=s["seed"] + rank, transform=transform, **pool)
    else:
        train_loader = data.DataLoader(train_set, batch_size=s["batch_size"], shuffle=True, seed=s["seed"],
                                       transform=transform, **pool)
    val_loader = data.DataLoader(splits["val"], batch_size=256)
    test_loader = data.DataLoader(test_set, batch_size=256)
    meta = {"dataset": train_set.name, "classes": list(train_set.classes),
            "normalization": train_set.normalization, "input_shape": list(train_set.input_shape),
            "dark_background": getattr(train_set, "dark_background", True), "settings": s}
    if getattr(train_set, "encoder", None) is not None:  # a text model: its tokenizer and vocabulary
        meta["text"] = train_set.encoder.to_dict()
    callbacks = [_print_epoch, _EpochETA()] if args.no_progress else []
    trained = cn.nn.parallel.DistributedDataParallel(model) if world > 1 else model  # rank 0's weights
    trainer = Trainer(trained, optimizer, scheduler=scheduler, meta=meta, callbacks=callbacks,
                      keep=s.get("keep", "last"))
    total, finish_only = s["epochs"], False
    if args.resume:
        if not os.path.isfile(os.path.join(out, "training_state.safetensors")):
            raise _error(f"--resume {out}: no training_state.safetensors there (the run stopped before its first "
                         "epoch ended); start it again with --out and --force")
        trainer.resume(out)
        total = s["epochs"] if args.epochs is None else args.epochs
        stopped_early = bool(trainer.history and trainer.history[-1].get("early_stopped")) and args.epochs is None
        if total < trainer.epoch:
            raise _error(f"--epochs {total}: the run in {out} already has {_epochs(trainer.epoch)}; pass a larger "
                         "--epochs or none")
        finish_only = trainer.epoch >= total or stopped_early
        if finish_only:
            if os.path.isfile(os.path.join(out, "metrics.json")):
                raise _error(f"--resume {out}: the run is complete ({_epochs(trainer.epoch)} and its test "
                             f"evaluation); pass --epochs N with N larger than {trainer.epoch} to train more")
            print(f"the run in {out} has trained all its {_epochs(trainer.epoch)} but has no test evaluation yet "
                  "(metrics.json); finishing it", flush=True)
        else:
            line = _replan_schedule(trainer, s, s["epochs"], total)
            if line:
                print(line, flush=True)
        s["epochs"] = total
    s = dict(s)
    trainer.meta["settings"] = s
    if rank == 0:
        atomic_write(os.path.join(out, "config.json"), json.dumps(s, indent=2, allow_nan=False) + "\n")
    if finish_only:
        if rank == 0:
            _finish(trainer, s, out, train_set, test_loader, start)
        return 0
    print(f"training {s['model']} on {train_set.name}: {len(train_set)} train / {len(splits['val'])} "
          f"validation / {len(test_set)} test images {tuple(train_set.input_shape)}, {s['optimizer']} "
          f"lr {s['lr']:g}, {_epochs(total)}, seed {s['seed']}", flush=True)
    try:
        trainer.fit(train_loader, val_loader, epochs=total, early_stopping_patience=s["patience"],
                    checkpoint_dir=out, progress=not args.no_progress)
    except KeyboardInterrupt:
        if trainer.epoch:
            print(f"stopped after epoch {trainer.epoch}; continue with: convnet train --resume {out}", flush=True)
        raise
    except NonFiniteLossError as e:
        last = (e.epoch or trainer.epoch + 1) - 1  # the last epoch whose weights were finite (and saved)
        kept = (f"{out} keeps the checkpoint of epoch {last}" if last
                else "no epoch finished, so no checkpoint was written")
        raise _error(f"{e}; {kept}") from None
    if rank == 0:  # the test evaluation, plots and metrics.json: once
        _finish(trainer, s, out, train_set, test_loader, start)
    return 0


def _rank_and_world(args):
    """``(rank, world size)`` of a ``--distributed`` run, ``(0, 1)`` otherwise."""
    if not getattr(args, "distributed", False):
        return 0, 1
    import convnet.distributed as dist

    return dist.get_rank(), dist.get_world_size()


def _finish(trainer, s, out, train_set, test_loader, start):
    """Evaluate the saved checkpoint on the test set, write the plots, and metrics.json last (the run is done)."""
    import numpy as np

    import convnet as cn

    from ..checkpoint import atomic_write, load
    from ..plots import plot_confusion_matrix, plot_history
    from ..train import dumps_strict, evaluate, strict_json

    model = load(out)  # the checkpoint as saved (last or best epoch), exactly what users will load
    results = evaluate(model, test_loader)
    cm = results.pop("confusion_matrix")
    saved_meta = dict(model.checkpoint_meta, test_accuracy=results["accuracy"], test_loss=results["loss"])
    cn.save(os.path.join(out, "model.safetensors"), model, meta=strict_json(saved_meta)[0])
    metrics = dict(results, confusion_matrix=cm.tolist(), checkpoint_epoch=saved_meta.get("epoch"),
                   best_val_epoch=trainer.best_epoch, epochs_run=trainer.epoch,
                   seconds=round(time.perf_counter() - start, 2))
    plot_history(trainer.history, os.path.join(out, "training_curve.png"),
                 title=f"{s['model']} on {train_set.name}", checkpoint_epoch=saved_meta.get("epoch"))
    plot_confusion_matrix(cm, os.path.join(out, "confusion_matrix.png"), classes=train_set.classes,
                          title=f"{s['model']} on {train_set.name} test set: accuracy {results['accuracy']:.2%}")
    atomic_write(os.path.join(out, "metrics.json"), dumps_strict(metrics))
    n = results["num_samples"]
    k = results["top_k"]
    print(f"test accuracy: {results['accuracy']:.2%} ({int(np.trace(cm))}/{n}), top-{k} "
          f"{results[f'top{k}_accuracy']:.2%}, loss {results['loss']:.4f}  [checkpoint from epoch "
          f"{saved_meta.get('epoch')}]")
    print(f"run directory: {out}")
    print("  model.safetensors + model.json  checkpoint   (convnet eval " + out + ")")
    print("  history.json, history.csv       per-epoch metrics")
    print("  training_curve.png, confusion_matrix.png, metrics.json, config.json")
    print(f"total time: {time.perf_counter() - start:.1f} s")


def _print_epoch(trainer, logs):
    """One line per epoch when the progress bar is off."""
    val = f"  val_loss {logs['val_loss']:.4f}  val_acc {logs['val_accuracy']:.2%}" if "val_loss" in logs else ""
    print(f"epoch {logs['epoch']:3d}  loss {logs['train_loss']:.4f}  acc {logs['train_accuracy']:.2%}{val}  "
          f"lr {logs['lr']:.2e}  {logs['time']:.1f} s", flush=True)


class _EpochETA(Callback):
    """Without a progress bar: one line with the expected epoch time when it exceeds ``threshold`` seconds
    (tqdm shows an ETA itself).

    The first batch pays for warm-up (thread pools, loader workers, caches) and can take 50x a later one, so
    the pace comes from the batches after it: from batch 2 on, as soon as they have run for a second, or
    after 10 of them.
    """

    def __init__(self, threshold=60.0):
        self.threshold, self.done, self.first = threshold, False, None

    def on_train_batch_end(self, trainer, batch, logs):
        if self.done or not logs.get("batches"):
            return
        if self.first is None:
            self.first = (batch, logs["seconds"])
            return
        b1, t1 = self.first
        if batch <= b1 or (logs["seconds"] - t1 < 1.0 and batch - b1 < 10 and batch < logs["batches"]):
            return
        self.done = True
        pace = (logs["seconds"] - t1) / (batch - b1)
        eta = t1 + pace * (logs["batches"] - b1)
        if eta > self.threshold:
            print(f"epoch {trainer.epoch + 1}: {pace:.2g} s per batch (after a first batch of {t1:.1f} s), so an "
                  f"epoch of {logs['batches']} batches will take about {_duration(eta)}", flush=True)


def _epochs(n):
    return f"{n} epoch{'s' * (n != 1)}"


def _duration(seconds):
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
