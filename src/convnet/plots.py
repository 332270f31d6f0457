"""Training-curve and confusion-matrix figures (PNG, matplotlib's non-interactive Agg backend).

matplotlib is imported inside the functions so ``import convnet`` stays fast.
"""
from __future__ import annotations

import os

import numpy as np

__all__ = ["plot_history", "plot_confusion_matrix"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def plot_history(history, path, title=None, checkpoint_epoch=None):
    """Loss and accuracy per epoch (train and, when present, validation) side by side; returns ``path``.

    Args:
        history: ``Trainer.history`` (list of dicts with ``epoch``, ``train_loss``, ``train_accuracy``
            and optionally ``val_loss``, ``val_accuracy``).
        path: the PNG to write.
        checkpoint_epoch: epoch whose weights were kept, marked with a dotted line (default: the
            last epoch flagged ``best`` in the history, if any).
    """
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    epochs = [h["epoch"] for h in history]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key, label in ((ax_loss, "loss", "loss"), (ax_acc, "accuracy", "accuracy")):
        ax.plot(epochs, [h[f"train_{key}"] for h in history], "o-", label=f"train {label}", markersize=3)
        if any(f"val_{key}" in h for h in history):
            ax.plot(epochs, [h.get(f"val_{key}", np.nan) for h in history], "s-", label=f"validation {label}",
                    markersize=3)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
    ax_loss.set_yscale("log")
    ax_acc.set_ylim(top=1.0)
    if checkpoint_epoch is None:
        best = [h["epoch"] for h in history if h.get("best")]
        checkpoint_epoch = best[-1] if best else None
    if checkpoint_epoch is not None:
        ax_acc.axvline(checkpoint_epoch, color="grey", linestyle=":", label=f"checkpoint (epoch {checkpoint_epoch})")
    ax_loss.legend()
    ax_acc.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_confusion_matrix(cm, path, classes=None, title=None):
    """Heat map of a ``(C, C)`` confusion matrix (row = true, column = predicted) with counts; returns ``path``."""
    plt = _pyplot()
    cm = np.asarray(cm)
    c = cm.shape[0]
    classes = [str(k) for k in range(c)] if classes is None else [str(k) for k in classes]
    size = max(4.5, 0.5 * c + 2)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    # colour by the fraction of each true class so that small classes are readable too
    frac = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    im = ax.imshow(frac, cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="fraction of true class")
    for i in range(c):
        for j in range(c):
            if cm[i, j]:
                ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if frac[i, j] > 0.5 else "black")
    ax.set_xticks(range(c), classes, rotation=45 if max(map(len, classes)) > 2 else 0, ha="right"
                  if max(map(len, classes)) > 2 else "center")
    ax.set_yticks(range(c), classes)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    acc = np.trace(cm) / max(cm.sum(), 1)
    ax.set_title(title or f"confusion matrix (accuracy {acc:.2%}, n={int(cm.sum())})")
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
