"""``Trainer``: the training loop with validation, history, best checkpoint, early stopping and resume.

One epoch = for every batch: forward, loss, ``zero_grad``, ``backward``, ``optimizer.step()``;
then the validation set is evaluated, the scheduler stepped (``ReduceLROnPlateau`` gets the
validation loss), the history appended and, with ``checkpoint_dir``, these files written
atomically:

- ``model.safetensors`` + ``model.json``: the best model so far by ``monitor`` (validation
  accuracy by default; the last model when there is no validation set or with ``keep="last"``);
- ``training_state.safetensors``: everything needed to continue exactly (model, optimizer and
  scheduler state, epoch, global and loader RNG states, history, early-stopping counters);
- ``history.json`` and ``history.csv``: one row per epoch.

``Trainer.resume(path)`` loads a training state so that ``fit`` continues as if it had never
stopped: the weights after "2 epochs, crash, resume for 2 more" equal those after 4 straight.

Training stops with ``NonFiniteLossError`` at the first batch whose loss is NaN or infinite
(before that batch updates the weights), and no checkpoint is ever written from non-finite
weights, so ``checkpoint_dir`` keeps the last finite epoch. Every JSON file is strict JSON: a
non-finite metric is written as ``null`` (and named in the row's ``"note"``).

Example:
    >>> model = cn.models.get("lenet5")
    >>> trainer = cn.Trainer(model, cn.optim.Adam(model.parameters(), lr=1e-3))
    >>> trainer.fit(train_loader, val_loader, epochs=10, checkpoint_dir="runs/demo")
    >>> trainer.evaluate(test_loader)["accuracy"]
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
import sys
import time

import numpy as np

from . import _backend
from .autograd import no_grad
from .checkpoint import atomic_write, load_training_state, save, save_training_state

__all__ = ["Trainer", "fit", "evaluate", "Callback", "NonFiniteLossError", "confusion_matrix", "topk_correct",
           "strict_json", "dumps_strict"]


class NonFiniteLossError(FloatingPointError):
    """The training loss (or the weights) became NaN or infinite; ``epoch`` and ``batch`` say where (1-based)."""

    def __init__(self, msg, epoch=None, batch=None):
        super().__init__(msg)
        self.epoch, self.batch = epoch, batch


class Callback:
    """Hooks called by ``Trainer.fit``; set ``trainer.stop_training = True`` to stop after this epoch."""

    def on_train_begin(self, trainer):
        pass

    def on_train_batch_end(self, trainer, batch, logs):
        """After every optimizer step; ``batch`` is 1-based, ``logs`` = ``{"loss", "batches", "seconds"}``
        (``batches``: the epoch's number of batches or None; ``seconds``: since the epoch began)."""

    def on_epoch_end(self, trainer, logs):
        pass

    def on_train_end(self, trainer):
        pass


def confusion_matrix(y_true, y_pred, num_classes):
    """``(C, C)`` int64 counts; row = true class, column = predicted class."""
    y_true, y_pred = np.asarray(y_true, np.int64), np.asarray(y_pred, np.int64)
    return np.bincount(y_true * num_classes + y_pred, minlength=num_classes * num_classes) \
        .reshape(num_classes, num_classes)


def topk_correct(logits, y, k):
    """Number of rows of ``logits (N, C)`` whose true class ``y (N,)`` is among the ``k`` largest scores.

    Ties are broken towards the lower class index (a stable descending sort), as ``argmax`` does.
    """
    k = min(k, logits.shape[1])
    top = np.argsort(-logits, axis=1, kind="stable")[:, :k]  # (N, k)
    return int((top == np.asarray(y)[:, None]).any(axis=1).sum())


def _process_group():
    """The running ``convnet.distributed`` group of two or more ranks, or None (never imports it)."""
    dist = sys.modules.get("convnet.distributed")
    if dist is None or not dist.is_initialized() or dist.get_world_size() < 2:
        return None
    return dist


def _unwrap(model):
    """The model inside a ``DistributedDataParallel`` (what checkpoints store), else ``model``."""
    from .nn.parallel import DistributedDataParallel

    return model.module if isinstance(model, DistributedDataParallel) else model


def _is_plateau(scheduler):
    from .optim.lr_scheduler import ReduceLROnPlateau

    return isinstance(scheduler, ReduceLROnPlateau)


def strict_json(obj):
    """``obj`` with every NaN/inf float replaced by ``None``, and the replaced keys (dotted paths).

    ``json.dumps(strict_json(obj)[0], allow_nan=False)`` then always succeeds: standard JSON has
    no NaN or Infinity, and files other tools read must be standard.
    """
    bad = []

    def clean(v, key):
        if isinstance(v, (float, np.floating)) and not math.isfinite(v):
            bad.append(key)
            return None
        if isinstance(v, dict):
            return {k: clean(x, f"{key}.{k}" if key else str(k)) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x, f"{key}[{i}]") for i, x in enumerate(v)]
        return v

    return clean(obj, ""), bad


def dumps_strict(obj, note_key="note"):
    """Strict JSON text of ``obj``; a dict whose non-finite values became null says so in ``note_key``."""
    obj, bad = strict_json(obj)
    if bad and isinstance(obj, dict):
        obj[note_key] = f"non-finite values written as null: {', '.join(bad)}"
    return json.dumps(obj, indent=2, allow_nan=False) + "\n"


def _write_history(folder, history):
    rows = []
    for row in history:
        clean, bad = strict_json(row)
        if bad:
            clean["note"] = f"non-finite values written as null: {', '.join(bad)}"
        rows.append(clean)
    history = rows
    atomic_write(os.path.join(folder, "history.json"), json.dumps(history, indent=2, allow_nan=False) + "\n")
    keys = []
    for row in history:
        keys += [k for k in row if k not in keys]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=keys, lineterminator="\n")
    writer.writeheader()
    writer.writerows(history)
    atomic_write(os.path.join(folder, "history.csv"), buf.getvalue())


class Trainer:
    """Train ``model`` with ``optimizer`` on batches of ``(x, y)``; no device handling needed (NumPy).

    Args:
        model: a ``Module`` mapping ``x (N, C, H, W)`` to logits ``(N, num_classes)``.
        optimizer: a ``convnet.optim`` optimizer over ``model.parameters()``.
        loss_fn: ``loss_fn(logits, y) -> scalar`` (mean over the batch); default ``nn.CrossEntropyLoss()``.
        scheduler: a ``convnet.optim.lr_scheduler`` scheduler, stepped once per epoch.
        callbacks: ``Callback`` objects (or plain functions ``f(trainer, logs)`` run at epoch end).
        top_k: the k of the top-k accuracy reported by ``evaluate``.
        monitor: ``"val_accuracy"`` (higher is better; ties go to the lower validation loss) or
            ``"val_loss"`` (lower is better): picks the best checkpoint and drives early stopping.
        meta: JSON-able dict stored in every model checkpoint (dataset, classes, normalisation).
        keep: what ``checkpoint_dir/model.safetensors`` holds: the ``"best"`` epoch by ``monitor``
            (default) or the ``"last"`` one.
        aux_weight: weight of each auxiliary loss when the model returns auxiliary outputs in
            training mode (a tuple whose first entry is the main logits, e.g. GoogLeNet's
            ``GoogLeNetOutputs(logits, aux_logits2, aux_logits1)``): the training loss is
            ``loss_fn(logits, y) + aux_weight * sum(loss_fn(aux, y))``, 0.3 as in Szegedy et al.
            2014. Accuracy and evaluation use the main logits only.

    Attributes:
        history: list of per-epoch dicts with keys ``epoch``, ``train_loss``, ``train_accuracy``,
            ``val_loss``, ``val_accuracy``, ``val_topk_accuracy``, ``lr``, ``time``.
        epoch: epochs completed so far.
    """

    def __init__(self, model, optimizer, loss_fn=None, scheduler=None, callbacks=(), top_k=5,
                 monitor="val_accuracy", meta=None, keep="best", aux_weight=0.3):
        if loss_fn is None:
            from .nn import CrossEntropyLoss

            loss_fn = CrossEntropyLoss()
        if monitor not in ("val_accuracy", "val_loss"):
            raise ValueError(f"Trainer: monitor must be 'val_accuracy' or 'val_loss', received {monitor!r}")
        if keep not in ("best", "last"):
            raise ValueError(f"Trainer: keep must be 'best' or 'last', received {keep!r}")
        self.keep = keep
        self.aux_weight = float(aux_weight)
        self.model, self.optimizer, self.loss_fn, self.scheduler = model, optimizer, loss_fn, scheduler
        self.callbacks = list(callbacks)
        self.top_k, self.monitor, self.meta = int(top_k), monitor, dict(meta or {})
        self.history = []
        self.epoch = 0
        self.best_score = None
        self.best_epoch = None
        self.best_loss = None
        self.bad_epochs = 0
        self.stop_training = False
        self._loader_states = None

    # ------------------------------------------------------------------ one epoch
    def compute_loss(self, out, y):
        """``(loss, main logits)`` of a model output: plain logits, or a tuple (main logits first) of
        auxiliary outputs whose losses are added with ``aux_weight`` (GoogLeNet's 0.3)."""
        if isinstance(out, tuple):
            logits, aux = out[0], [a for a in out[1:] if a is not None]
            loss = self.loss_fn(logits, y)
            for a in aux:
                loss = loss + self.aux_weight * self.loss_fn(a, y)
            return loss, logits
        return self.loss_fn(out, y), out

    def train_epoch(self, loader, bar=None):
        """One pass over ``loader`` with parameter updates; returns ``{"loss", "accuracy"}`` (sample means)."""
        self.model.train()
        total, loss_sum, correct = 0, 0.0, 0
        start = time.perf_counter()
        try:
            batches = len(loader)
        except TypeError:
            batches = None
        sampler = getattr(loader, "sampler", None)
        if hasattr(sampler, "set_epoch"):  # DistributedSampler: this epoch's order, the same on every rank
            sampler.set_epoch(self.epoch)
        for i, (x, y) in enumerate(loader, 1):
            loss, out = self.compute_loss(self.model(x), y)
            value = float(loss.item())
            if not math.isfinite(value):  # stop before this batch's step can spoil the weights
                raise NonFiniteLossError(
                    f"the training loss became {value} at epoch {self.epoch + 1}, batch {i}"
                    f"{f' of {batches}' if batches else ''} (lr {self.optimizer.param_groups[0]['lr']:g}); "
                    "lower the learning rate (this batch made no update)", self.epoch + 1, i)
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            n = len(y._data)
            total += n
            loss_sum += value * n
            correct += int((out._data.argmax(axis=1) == y._data).sum())
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{loss_sum / total:.4f}", acc=f"{correct / total:.4f}", refresh=False)
            for cb in self.callbacks:
                hook = getattr(cb, "on_train_batch_end", None)
                if hook is not None:
                    hook(self, i, {"loss": value, "batches": batches, "seconds": time.perf_counter() - start})
        if total == 0:
            raise ValueError("Trainer.fit: the training loader produced no batches")
        return {"loss": loss_sum / total, "accuracy": correct / total}

    def evaluate(self, loader, top_k=None):
        """Loss, accuracy, top-k accuracy and confusion matrix of the model on ``loader`` (no updates).

        Returns:
            dict with ``"loss"``, ``"accuracy"``, ``"top{k}_accuracy"`` (floats), ``"top_k"`` (k),
            ``"confusion_matrix"`` (a (C, C) int64 ndarray, row = true, column = predicted) and
            ``"num_samples"`` (N).
        """
        k = int(top_k or self.top_k)
        was_training = self.model.training
        self.model.eval()
        total, loss_sum, correct, correct_k, cm = 0, 0.0, 0, 0, None
        try:
            with no_grad():
                for x, y in loader:
                    out = self.model(x)
                    out = out[0] if isinstance(out, tuple) else out  # main logits of a multi-head model
                    logits, labels = np.asarray(out._data), np.asarray(y._data)
                    n = len(labels)
                    loss_sum += float(self.loss_fn(out, y).item()) * n
                    pred = logits.argmax(axis=1)
                    correct += int((pred == labels).sum())
                    correct_k += topk_correct(logits, labels, k)
                    batch_cm = confusion_matrix(labels, pred, logits.shape[1])
                    cm = batch_cm if cm is None else cm + batch_cm
                    total += n
        finally:
            self.model.train(was_training)
        if total == 0:
            raise ValueError("Trainer.evaluate: the loader produced no batches")
        return {"loss": loss_sum / total, "accuracy": correct / total, f"top{k}_accuracy": correct_k / total,
                "top_k": k, "confusion_matrix": cm, "num_samples": total}

    # ------------------------------------------------------------------ the loop
    def _improved(self, logs):
        """Better ``monitor``; for accuracy, a tie counts as better when the validation loss is lower."""
        score = logs[self.monitor]
        if self.best_score is None:
            return True
        if self.monitor == "val_loss":
            return score < self.best_score
        return score > self.best_score or (score == self.best_score and logs["val_loss"] < self.best_loss)

    def fit(self, train_loader, val_loader=None, epochs=1, early_stopping_patience=None, checkpoint_dir=None,
            progress=True):
        """Train until ``epochs`` epochs in total are done (counting resumed ones) or early stopping.

        Args:
            train_loader: batches of ``(x, y)``.
            val_loader: evaluated after every epoch; needed for the best checkpoint and early stopping.
            epochs: total number of epochs (a resumed trainer continues from ``self.epoch``).
            early_stopping_patience: stop after this many epochs without improvement of ``monitor``.
            checkpoint_dir: where the best model, the training state and the history go.
            progress: show a tqdm progress bar (on stderr) with the running loss and accuracy.

        Returns:
            ``self.history``.
        """
        if early_stopping_patience is not None and val_loader is None:
            raise ValueError("Trainer.fit: early_stopping_patience needs a val_loader to monitor")
        if self._loader_states is not None:
            for name, loader in (("train", train_loader), ("val", val_loader)):
                state = self._loader_states.get(name)
                if loader is not None and state is not None and hasattr(loader, "load_state_dict"):
                    loader.load_state_dict(state)
            self._loader_states = None
        if checkpoint_dir is not None:
            os.makedirs(checkpoint_dir, exist_ok=True)
        self.stop_training = False
        for cb in self.callbacks:
            getattr(cb, "on_train_begin", lambda t: None)(self)
        while self.epoch < epochs and not self.stop_training:
            logs = self._run_epoch(train_loader, val_loader, epochs, progress)
            if val_loader is not None and early_stopping_patience is not None \
                    and self.bad_epochs >= early_stopping_patience:
                self.stop_training = True
                logs["early_stopped"] = True
            if checkpoint_dir is not None:  # first, so a callback's "epoch k done" line means it is on disk
                self._write_checkpoints(checkpoint_dir, logs, train_loader, val_loader)
            for cb in self.callbacks:
                (cb if callable(cb) and not isinstance(cb, Callback) else cb.on_epoch_end)(self, logs)
        for cb in self.callbacks:
            getattr(cb, "on_train_end", lambda t: None)(self)
        return self.history

    def _run_epoch(self, train_loader, val_loader, epochs, progress):
        start = time.perf_counter()
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(train_loader), desc=f"epoch {self.epoch + 1}/{epochs}", unit="batch",
                       file=sys.stderr, dynamic_ncols=True, leave=True)
        try:
            train = self.train_epoch(train_loader, bar)
            logs = {"epoch": self.epoch + 1, "train_loss": train["loss"], "train_accuracy": train["accuracy"]}
            if val_loader is not None:
                val = self.evaluate(val_loader)
                logs.update(val_loss=val["loss"], val_accuracy=val["accuracy"])
                logs[f"val_top{val['top_k']}_accuracy"] = val[f"top{val['top_k']}_accuracy"]
            if bar is not None:
                post = {"loss": f"{train['loss']:.4f}", "acc": f"{train['accuracy']:.4f}"}
                if val_loader is not None:
                    post.update(val_loss=f"{logs['val_loss']:.4f}", val_acc=f"{logs['val_accuracy']:.4f}")
                bar.set_postfix(post)
        finally:
            if bar is not None:
                bar.close()
        logs["lr"] = float(self.optimizer.param_groups[0]["lr"])
        if self.scheduler is not None:
            if _is_plateau(self.scheduler):
                self.scheduler.step(logs.get("val_loss", logs["train_loss"]))
            else:
                self.scheduler.step()
        self.epoch += 1
        if val_loader is not None:
            if self._improved(logs):
                self.best_score, self.best_epoch, self.bad_epochs = logs[self.monitor], self.epoch, 0
                self.best_loss = logs["val_loss"]
                logs["best"] = True
            else:
                self.bad_epochs += 1
        logs["time"] = round(time.perf_counter() - start, 3)
        self.history.append(logs)
        return logs

    # ------------------------------------------------------------------ checkpoints
    def _check_finite_weights(self):
        """Raise ``NonFiniteLossError`` when a parameter or buffer holds NaN/inf (nothing is saved then)."""
        for name, v in self.model.state_dict().items():
            a = np.asarray(v._data if hasattr(v, "_data") else v)
            if a.dtype.kind == "f" and not np.isfinite(a).all():
                raise NonFiniteLossError(
                    f"{name} became non-finite during epoch {self.epoch} (lr "
                    f"{self.optimizer.param_groups[0]['lr']:g}); lower the learning rate; nothing was saved for "
                    "this epoch, the last finite checkpoint is kept", self.epoch)

    def _write_checkpoints(self, folder, logs, train_loader, val_loader):
        self._check_finite_weights()
        dist = _process_group()
        if dist is not None:  # every rank's RNG and loader states go into rank 0's training state
            self._rank_states = [None] * dist.get_world_size()
            dist.all_gather_object(self._rank_states, {"rng": _backend.get_rng_state(), "loaders": {
                name: ld.state_dict() for name, ld in (("train", train_loader), ("val", val_loader))
                if ld is not None and hasattr(ld, "state_dict")}})
            if dist.get_rank() != 0:  # only rank 0 writes
                return
        if self.keep == "last" or val_loader is None or logs.get("best"):
            meta = dict(self.meta, epoch=self.epoch)
            for key in ("val_accuracy", "val_loss", "train_accuracy", "train_loss"):
                if key in logs:
                    meta[key] = logs[key]
            meta = strict_json(meta)[0]
            save(os.path.join(folder, "model.safetensors"), _unwrap(self.model), meta=meta)
        self.save_training_state(os.path.join(folder, "training_state.safetensors"), train_loader, val_loader)
        _write_history(folder, self.history)

    def state_dict(self, train_loader=None, val_loader=None):
        """Everything needed to continue training exactly (see ``resume``)."""
        loaders = {name: ld.state_dict() for name, ld in (("train", train_loader), ("val", val_loader))
                   if ld is not None and hasattr(ld, "state_dict")}
        state = {
            "model": _unwrap(self.model).state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "epoch": self.epoch,
            "rng": _backend.get_rng_state(),
            "loaders": loaders,
            # strict JSON in the safetensors header (other readers reject NaN): non-finite metrics become None
            "history": strict_json(self.history)[0],
            "trainer": strict_json({"best_score": self.best_score, "best_epoch": self.best_epoch,
                                    "best_loss": self.best_loss, "bad_epochs": self.bad_epochs,
                                    "monitor": self.monitor, "meta": self.meta})[0],
        }
        if getattr(self, "_rank_states", None) is not None:
            state["ranks"] = self._rank_states
        return state

    def save_training_state(self, path, train_loader=None, val_loader=None):
        return save_training_state(path, self.state_dict(train_loader, val_loader), model=_unwrap(self.model))

    def resume(self, path):
        """Load a training state (file or the ``checkpoint_dir`` holding ``training_state.safetensors``).

        The model, optimizer and scheduler given to this Trainer receive the saved state; the
        global RNG is restored now and the loaders' generators when ``fit`` is next called.
        Returns ``self``.
        """
        path = os.fspath(path)
        if os.path.isdir(path):
            path = os.path.join(path, "training_state.safetensors")
        state = load_training_state(path)
        dist = _process_group()
        if dist is not None and state.get("ranks") and len(state["ranks"]) == dist.get_world_size():
            state.update(state["ranks"][dist.get_rank()])  # this rank's own RNG and loader states
        try:
            _unwrap(self.model).load_state_dict(state["model"])
        except (KeyError, ValueError) as e:
            raise ValueError(f"Trainer.resume: {path} does not fit this model: {e.args[0]}") from None
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None and state.get("scheduler") is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        _backend.set_rng_state(state["rng"])
        self.epoch = int(state["epoch"])
        self.history = list(state["history"])
        t = state["trainer"]
        self.best_score, self.best_epoch, self.bad_epochs = t["best_score"], t["best_epoch"], int(t["bad_epochs"])
        self.best_loss = t.get("best_loss")
        self.meta = dict(t.get("meta") or self.meta)
        self._loader_states = state.get("loaders") or {}
        return self


def evaluate(model, loader, loss_fn=None, top_k=5):
    """``Trainer(model, None).evaluate(loader)`` without an optimizer."""
    return Trainer(model, None, loss_fn=loss_fn, top_k=top_k).evaluate(loader)


def fit(model, train_loader, val_loader=None, epochs=10, optimizer=None, lr=1e-3, loss_fn=None, scheduler=None,
        callbacks=(), **fit_kwargs):
    """Train ``model`` in one call (Adam with ``lr`` unless an ``optimizer`` is given); returns the Trainer.

    Example:
        >>> trainer = cn.fit(model, train_loader, val_loader, epochs=5)
        >>> trainer.history[-1]["val_accuracy"]
    """
    if optimizer is None:
        from .optim import Adam

        optimizer = Adam(model.parameters(), lr=lr)
    trainer = Trainer(model, optimizer, loss_fn=loss_fn, scheduler=scheduler, callbacks=callbacks)
    trainer.fit(train_loader, val_loader, epochs=epochs, **fit_kwargs)
    return trainer

