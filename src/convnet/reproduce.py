"""Reproductions of published results: ``convnet reproduce NAME`` (fixed seeds, not part of CI).

Each entry of ``RUNS`` is one paper's measurement in miniature: a model, a dataset, a training
budget that fits a 2-core CPU, the published figure and our target. ``run(name)`` trains it (one
or more arms: e.g. plain vs residual) with the library's ``Trainer`` and returns the numbers;
``write_report(result, out)`` writes ``results.json``, the training curves and the confusion
matrices beside the checkpoints. Results and commands are collected in ``docs/results.md``.

Example:
    >>> from convnet import reproduce
    >>> result = reproduce.run("lenet5-mnist", epochs=1, seed=0, out="runs/repro")
    >>> result["arms"]["lenet5"]["test_error"]
"""
from __future__ import annotations

import dataclasses
import inspect
import os
import time

__all__ = ["RUNS", "Run", "run", "write_report", "names"]


@dataclasses.dataclass(frozen=True)
class Run:
    """One reproduction: ``arms`` maps an arm name to ``(model name, model options)``."""

    paper: str
    measured: str
    published: str
    target: str
    dataset: str
    arms: dict
    epochs: int
    batch_size: int = 64
    optimizer: str = "adam"
    lr: float = 2e-3
    augment: str = "none"  # a name of data.augment_presets.PRESETS
    aux_weight: float = 0.3
    limit: int | None = None  # train on the first ``limit`` training images (a budget that fits an hour here)
    update_bn: bool = False  # after training, batch-norm statistics of the undistorted training images


RUNS = {
    "lenet5-mnist": Run(
        "LeCun et al. 1998", "MNIST test error, no augmentation", "0.95%", "<= 0.9%", "mnist",
        {"lenet5": ("lenet5", {})}, epochs=12),
    "lenet5-mnist-elastic": Run(
        "LeCun et al. 1998", "MNIST test error, with distortions", "0.8%", "<= 0.75%", "mnist",
        {"lenet5": ("lenet5", {})}, epochs=20, augment="elastic"),
    "lenet5-mnist-affine": Run(
        "LeCun et al. 1998", "MNIST test error, with affine distortions (the paper's kind)", "0.8%", "<= 0.75%",
        "mnist", {"lenet5": ("lenet5", {})}, epochs=20, augment="affine"),
    "simard-mnist-elastic": Run(
        "Simard et al. 2003", "MNIST test error, small CNN + elastic distortions", "0.4%", "<= 0.5%", "mnist",
        {"resnet20": ("resnet20", {})}, epochs=15, optimizer="sgd", lr=0.1, augment="elastic"),
    "simard-mnist-vgg": Run(
        "Simard et al. 2003", "MNIST test error, small VGG-style CNN (vgg_mini) + elastic distortions", "0.4%",
        "<= 0.5%", "mnist", {"vgg_mini": ("vgg_mini", {})}, epochs=30, batch_size=128, optimizer="sgd", lr=0.1,
        augment="elastic", update_bn=True),
    "fashion-resnet20": Run(
        "Xiao et al. 2017 (Fashion-MNIST)", "Fashion-MNIST test accuracy, ResNet-20", ">= 94% (issue target)",
        ">= 94.0%", "fashion-mnist", {"resnet20": ("resnet20", {})}, epochs=20, batch_size=128, optimizer="sgd",
        lr=0.1, augment="crop+flip"),
    "jarrett-ablation": Run(
        "Jarrett et al. 2009", "MNIST test error of F_CSG-R_abs-N-P_A with and without |x| and LCN "
        "(trainable gain g in both arms)",
        "abs + LCN helps (Caltech-101)", "report both", "mnist",
        {"abs+lcn": ("jarrett", {"rectify": True, "lcn": True}),
         "plain": ("jarrett", {"rectify": False, "lcn": False})}, epochs=5),
    "he2016-plain-vs-residual": Run(
        "He et al. 2016, Figure 6", "Fashion-MNIST train/test error, plain vs residual, depth 20 and 32",
        "deeper plain net trains worse", "curves on one plot", "fashion-mnist",
        {"plain20": ("resnet20", {"residual": False}), "plain32": ("resnet32", {"residual": False}),
         "resnet20": ("resnet20", {}), "resnet32": ("resnet32", {})}, epochs=10, optimizer="sgd", lr=0.1,
        limit=6000),
    "googlenet-aux": Run(
        "Szegedy et al. 2014", "Fashion-MNIST test accuracy of GoogLeNet (5x5 branch) with auxiliary heads (0.3)",
        "aux heads: +0.5% top-1 (ImageNet)", "report with and without", "fashion-mnist",
        {"aux": ("googlenet", {"aux_logits": True, "branch3_5x5": True}),
         "no-aux": ("googlenet", {"aux_logits": False, "branch3_5x5": True})}, epochs=5, limit=5000),
}


def names():
    """Sorted names of the defined reproductions."""
    return sorted(RUNS)


def _lookup(name):
    if name not in RUNS:
        raise ValueError(f"reproduce: unknown run {name!r}; valid names: {', '.join(names())}")
    return RUNS[name]


def _check_options(name, model, options):
    """Refuse up front, naming the missing option, when a model does not support an arm's options."""
    from . import models

    build = models._lookup(model, "reproduce")[0]
    known = set(inspect.signature(build).parameters)
    missing = sorted(set(options) - known)
    if missing:
        raise ValueError(f"reproduce {name}: model {model!r} has no option {', '.join(missing)} yet (needed for "
                         f"this run); its options are {sorted(known)}")


def _augmentation(kind, dataset):
    from .data.augment_presets import preset

    return preset(kind, dataset)


def _optimizer(spec, params):
    from . import optim

    if spec.optimizer == "sgd":
        return optim.SGD(params, lr=spec.lr, momentum=0.9, weight_decay=5e-4)
    return optim.Adam(params, lr=spec.lr)


def run(name, epochs=None, seed=0, out=None, root=None, limit=None, progress=False, log=print, batch_size=None,
        num_workers=0):
    """Train every arm of the reproduction ``name``; returns a JSON-able dict of the results.

    Args:
        name: one of ``names()``.
        epochs: override the run's epoch budget (the published comparison uses the default).
        seed: seeds the weights, the shuffling and the augmentation.
        out: folder for each arm's checkpoints and history (``out/<arm>/``); None: nothing written.
        root: where the MNIST / Fashion-MNIST files are (default ``$CONVNET_DATA``).
        limit: train on the first ``limit`` training images only (quick checks); default: the run's own
            ``limit`` (None: the whole training split).
        log: called with one line per epoch.
        batch_size: override the run's batch size (the learning rate stays the run's).
        num_workers: loader processes that build and augment the training batches (``DataLoader``'s;
            the same batches, so the same result, as 0).

    Returns:
        ``{"name", "spec", "seed", "epochs", "arms": {arm: {"test_accuracy", "test_error",
        "best_val_accuracy", "history", "confusion_matrix", "seconds"}}}``; a run with ``update_bn``
        (``optim.swa_utils.update_bn`` over the un-augmented training images after the last epoch) adds
        ``"test_accuracy_before_update_bn"`` and ``"val_accuracy_after_update_bn"``.
    """
    import convnet as cn

    from . import data, models
    from .train import Trainer

    spec = _lookup(name)
    for model, options in spec.arms.values():
        _check_options(name, model, options)
    epochs = spec.epochs if epochs is None else int(epochs)
    limit = spec.limit if limit is None else int(limit)
    if batch_size is not None:
        spec = dataclasses.replace(spec, batch_size=int(batch_size))
    result = {"name": name, "spec": dataclasses.asdict(spec), "seed": seed, "epochs": epochs, "limit": limit,
              "arms": {}}
    for arm, (model_name, options) in spec.arms.items():
        start = time.perf_counter()
        cn.manual_seed(seed)
        size = models.default_input_shape(model_name)[1]
        size = 32 if size > 64 else size  # ImageNet networks run on 32x32 digits / clothes here
        splits = data.load_splits(spec.dataset, root=root, size=size)
        train_set = splits["train"]
        if limit is not None:
            train_set = data.Subset(train_set, range(min(limit, len(train_set))))
            train_set.name, train_set.classes = splits["train"].name, splits["train"].classes
            train_set.normalization, train_set.input_shape = (splits["train"].normalization,
                                                              splits["train"].input_shape)
        ref = splits["train"]
        model = models.get(model_name, num_classes=len(ref.classes), in_channels=ref.input_shape[0], **options)
        optimizer = _optimizer(spec, model.parameters())
        scheduler = cn.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(epochs, 1))
        pool = dict(num_workers=num_workers, persistent_workers=True) if num_workers else {}
        loader = data.DataLoader(train_set, batch_size=spec.batch_size, shuffle=True, seed=seed,
                                 transform=_augmentation(spec.augment, ref), **pool)
        meta = {"dataset": ref.name, "classes": list(ref.classes), "normalization": ref.normalization,
                "input_shape": list(ref.input_shape), "reproduce": name, "arm": arm, "seed": seed}
        trainer = Trainer(model, optimizer, scheduler=scheduler, meta=meta, keep="last", aux_weight=spec.aux_weight,
                          callbacks=[lambda t, logs, arm=arm: log(_line(arm, logs))])
        folder = os.path.join(out, arm) if out else None
        val_loader, test_loader = (data.DataLoader(splits[s], batch_size=256) for s in ("val", "test"))
        trainer.fit(loader, val_loader, epochs=epochs, checkpoint_dir=folder, progress=progress)
        extra = _update_bn(spec, trainer, train_set, val_loader, test_loader, folder) if spec.update_bn else {}
        test = trainer.evaluate(test_loader)
        result["arms"][arm] = {**extra,
            "model": model_name, "options": options, "test_accuracy": test["accuracy"],
            "test_error": 1.0 - test["accuracy"], "test_loss": test["loss"],
            "best_val_accuracy": max(h["val_accuracy"] for h in trainer.history),
            "history": trainer.history, "confusion_matrix": test["confusion_matrix"].tolist(),
            "classes": list(ref.classes), "seconds": round(time.perf_counter() - start, 1)}
        log(f"{name} [{arm}]: test accuracy {test['accuracy']:.2%} (error {1 - test['accuracy']:.2%}), "
            f"{result['arms'][arm]['seconds']:.0f} s")
    return result


def _update_bn(spec, trainer, train_set, val_loader, test_loader, folder):
    """Recompute the batch-norm statistics over the training images without augmentation (the network
    trained on distorted images is tested on clean ones); the numbers before, and the checkpoint after."""
    from . import data
    from .checkpoint import read_metadata, save
    from .optim.swa_utils import update_bn

    before = trainer.evaluate(test_loader)["accuracy"]
    update_bn(data.DataLoader(train_set, batch_size=spec.batch_size), trainer.model)
    val = trainer.evaluate(val_loader)["accuracy"]
    if folder:
        path = os.path.join(folder, "model.safetensors")
        save(path, trainer.model, meta=dict(read_metadata(path)["meta"], update_bn=True, val_accuracy=val))
    return {"test_accuracy_before_update_bn": before, "val_accuracy_after_update_bn": val}


def _line(arm, logs):
    return (f"[{arm}] epoch {logs['epoch']:3d}  loss {logs['train_loss']:.4f}  acc {logs['train_accuracy']:.2%}  "
            f"val_acc {logs['val_accuracy']:.2%}  {logs['time']:.1f} s")


def write_report(result, out):
    """Write ``out/results.json``, ``out/training_curve.png`` (every arm; train and validation error)
    and ``out/confusion_matrix_<arm>.png``; returns the list of paths."""
    from .checkpoint import atomic_write
    from .plots import _pyplot, plot_confusion_matrix
    from .train import dumps_strict

    os.makedirs(out, exist_ok=True)
    paths = [os.path.join(out, "results.json")]
    atomic_write(paths[0], dumps_strict(result))
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for arm, r in result["arms"].items():
        ep = [h["epoch"] for h in r["history"]]
        line, = ax.plot(ep, [100 * (1 - h["train_accuracy"]) for h in r["history"]], "--", label=f"{arm} train")
        ax.plot(ep, [100 * (1 - h["val_accuracy"]) for h in r["history"]], "-", color=line.get_color(),
                label=f"{arm} validation")
    ax.set(xlabel="epoch", ylabel="error (%)", yscale="log", title=f"{result['name']} (seed {result['seed']})")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(fontsize=8)
    fig.tight_layout()
    paths.append(os.path.join(out, "training_curve.png"))
    fig.savefig(paths[-1], dpi=100)
    plt.close(fig)
    for arm, r in result["arms"].items():
        paths.append(plot_confusion_matrix(r["confusion_matrix"], os.path.join(out, f"confusion_matrix_{arm}.png"),
                                           classes=r["classes"], title=f"{result['name']} [{arm}] test"))
    return paths
