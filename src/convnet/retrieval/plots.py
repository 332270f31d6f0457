"""The picture of a search: the query, then its neighbours, each labelled with class and distance."""
from __future__ import annotations

import numpy as np


def _show(image):
    """``(C, H, W)`` float -> ``(H, W)`` or ``(H, W, 3)`` scaled to [0, 1] for imshow."""
    a = np.asarray(image, np.float64)
    a = a[0] if a.shape[0] == 1 else np.transpose(a[:3], (1, 2, 0))
    lo, hi = a.min(), a.max()
    return (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)


def plot_search(query, neighbours, distances, path, labels=None, classes=None, query_title="query"):
    """Save one row per query: ``query`` ``(C, H, W)``, then ``neighbours`` ``(k, C, H, W)``."""
    from ..plots import _pyplot

    plt = _pyplot()
    k = len(neighbours)
    fig, axes = plt.subplots(1, k + 1, figsize=(1.3 * (k + 1), 1.8))
    axes = np.atleast_1d(axes)
    for ax, img, title in [(axes[0], query, query_title)] + [
            (axes[i + 1], neighbours[i], f"#{i + 1} d={distances[i]:.2f}" + (
                f"\n{classes[labels[i]] if classes else labels[i]}" if labels is not None else ""))
            for i in range(k)]:
        ax.imshow(_show(img), cmap="gray")
        ax.set_title(title, fontsize=7)
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
