"""Pictures of what :mod:`convnet.viz` computes (matplotlib, Agg backend, PNG).

Each ``plot_*`` function returns a matplotlib Figure; :func:`save` writes one atomically and closes it.
Grids count their tiles exactly: one axes with an image per filter / channel / sample.
"""
from __future__ import annotations

import io
import math

import numpy as np

from ..checkpoint import atomic_write
from .features import filter_tiles

__all__ = ["save", "mosaic", "grid", "plot_filters", "plot_feature_maps", "plot_attributions", "overlay", "plot_occlusion_map",
           "plot_top_activations", "plot_class_model", "plot_embedding", "plot_equivariance",
           "plot_vanishing_gradient"]


def _plt():
    import matplotlib

    if "inline" not in str(matplotlib.rcParams["backend"]).lower():  # keep Jupyter's inline backend
        matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def save(fig, path, dpi=110):
    """Write ``fig`` to ``path`` (PNG) atomically, close it and return ``path``."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    _plt().close(fig)
    return atomic_write(path, buf.getvalue())


def _image(a):
    """(C, H, W) / (H, W) / (H, W, 3) -> something imshow draws: grey 2-D or RGB (H, W, 3) in 0..1."""
    a = np.asarray(a, np.float32)
    if a.ndim == 3 and a.shape[0] in (1, 3) and a.shape[-1] != 3:
        a = a[0] if a.shape[0] == 1 else a.transpose(1, 2, 0)
    if a.ndim == 3:
        lo, hi = a.min(), a.max()
        a = (a - lo) / max(hi - lo, 1e-12)
    return a


def mosaic(tiles, cols, symmetric=False):
    """Tiles (each 2-D, or RGB ``(h, w, 3)``) side by side in one array, ``cols`` per row, each scaled on
    its own (to 0..1, or to -1..1 with ``symmetric``), one NaN (blank) pixel between them."""
    tiles = [_image(t) for t in tiles]
    h = max(t.shape[0] for t in tiles)
    w = max(t.shape[1] for t in tiles)
    rows = math.ceil(len(tiles) / cols)
    rgb = tiles[0].ndim == 3
    canvas = np.full((rows * (h + 1) - 1, cols * (w + 1) - 1) + ((3,) if rgb else ()), np.nan, np.float32)
    for k, t in enumerate(tiles):
        if not rgb:
            if symmetric:
                t = t / max(float(np.abs(t).max()), 1e-12)
            else:
                t = (t - t.min()) / max(float(np.ptp(t)), 1e-12)
        r, c = divmod(k, cols)
        canvas[r * (h + 1):r * (h + 1) + t.shape[0], c * (w + 1):c * (w + 1) + t.shape[1]] = t
    return np.nan_to_num(canvas, nan=1.0) if rgb else canvas


def grid(tiles, title=None, cols=None, cmap="gray", labels=None, tile_size=1.1, symmetric=False):
    """Tiles in a grid, ``cols`` per row; returns the Figure. With ``labels``, one axes per tile with its
    label; otherwise one :func:`mosaic` image (fast for a hundred tiles)."""
    plt = _plt()
    n = len(tiles)
    cols = cols or min(n, max(1, math.ceil(math.sqrt(n * 1.5))))
    rows = math.ceil(n / cols)
    if labels is None:
        fig, ax = plt.subplots(figsize=(min(cols * tile_size, 12), min(rows * tile_size, 12) + (0.4 if title else 0)))
        cm = plt.get_cmap("RdBu_r" if symmetric else cmap).with_extremes(bad="white")
        ax.imshow(mosaic(tiles, cols, symmetric), cmap=cm, vmin=-1 if symmetric else 0, vmax=1,
                  interpolation="nearest")
        ax.axis("off")
        if title:
            ax.set_title(title, fontsize=10)
        return fig
    fig, axes = plt.subplots(rows, cols, figsize=(cols * tile_size, rows * tile_size + (0.4 if title else 0)),
                             squeeze=False)
    for k, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if k >= n:
            continue
        ax.imshow(_image(tiles[k]), cmap=cmap, interpolation="nearest")
        ax.set_title(str(labels[k]), fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def plot_filters(conv, title=None):
    """The kernels of a Conv2d: RGB tiles for a 3-channel input, otherwise one grey tile per
    (output, input) channel pair, a row per output channel (red/blue: positive/negative weights)."""
    tiles = filter_tiles(conv)
    c_out, c_in = conv.weight.shape[:2]
    title = title or f"filters {tuple(conv.weight.shape)}"
    if tiles.ndim == 4:
        return grid(list(tiles), title)
    return grid(list(tiles), title, cols=c_in if c_in > 1 else None, symmetric=True,
                tile_size=0.7 if c_in > 8 else 1.1)


def plot_feature_maps(name, maps, max_maps=64):
    """One picture per layer: the ``(C, h, w)`` activation maps of layer ``name`` as a grid (the first
    ``max_maps``), or, for ``1x1`` maps (a fully connected stage), a bar per channel."""
    maps = np.asarray(maps)
    if maps.shape[1] * maps.shape[2] == 1:
        plt = _plt()
        fig, ax = plt.subplots(figsize=(8, 2.6))
        ax.bar(np.arange(maps.shape[0]), maps[:, 0, 0], width=0.9)
        ax.set_xlabel("channel")
        ax.set_ylabel("activation")
        ax.set_title(f"{name}: {maps.shape[0]} maps of 1x1", fontsize=10)
        return fig
    shown = maps[:max_maps]
    more = f" (first {len(shown)} of {maps.shape[0]})" if len(shown) < maps.shape[0] else ""
    return grid(list(shown), f"{name}: {maps.shape[0]} maps of {maps.shape[1]}x{maps.shape[2]}{more}", cmap="viridis")


def overlay(image, heat, alpha=0.5, cmap="jet"):
    """``image`` (C, H, W) in grey or RGB with a heat map ``(H, W)`` (or ``(1, H, W)``) blended on top; an
    ``(H, W, 3)`` array in 0..1."""
    import matplotlib

    base = _image(image)
    base = np.repeat(((base - base.min()) / max(np.ptp(base), 1e-12))[..., None], 3, axis=-1) if base.ndim == 2 else base
    h = np.asarray(heat, np.float32).reshape(base.shape[:2])
    h = (h - h.min()) / max(float(np.ptp(h)), 1e-12)
    colored = matplotlib.colormaps[cmap](h)[..., :3]
    return ((1 - alpha) * base + alpha * colored).astype(np.float32)


def plot_attributions(image, maps, title=None):
    """The image and one panel per attribution (``{name: (C, H, W) or (H, W)}``), each summed over channels."""
    plt = _plt()
    fig, axes = plt.subplots(1, len(maps) + 1, figsize=(2.3 * (len(maps) + 1), 2.6), squeeze=False)
    axes = axes[0]
    axes[0].imshow(_image(image), cmap="gray")
    axes[0].set_title("input", fontsize=9)
    for ax, (name, m) in zip(axes[1:], maps.items()):
        m = np.asarray(m, np.float32)
        if m.ndim == 3 and m.shape[-1] == 3:        # an RGB overlay
            ax.imshow(m)
        else:
            m = m.sum(axis=0) if m.ndim == 3 else m
            lim = max(float(np.abs(m).max()), 1e-12)
            signed = m.min() < 0
            ax.imshow(m, cmap="RdBu_r" if signed else "hot", vmin=-lim if signed else 0, vmax=lim)
        ax.set_title(name, fontsize=9)
    for ax in axes:
        ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def plot_occlusion_map(image, probs, title="probability of the true class as a grey square slides"):
    """ZFNet Figure 7: the input and the map of class probabilities per square position."""
    plt = _plt()
    fig, (a, b) = plt.subplots(1, 2, figsize=(5.5, 2.8))
    a.imshow(_image(image), cmap="gray")
    a.set_title("input", fontsize=9)
    im = b.imshow(probs, cmap="viridis", vmin=0, vmax=1)
    b.set_title("p(true class)", fontsize=9)
    fig.colorbar(im, ax=b, fraction=0.046)
    for ax in (a, b):
        ax.axis("off")
    fig.suptitle(title, fontsize=9)
    return fig


def plot_top_activations(result, title=None):
    """ZFNet Figure 2 in miniature: each top patch beside its deconvnet projection."""
    tiles, labels = [], []
    for i, (p, q, s) in enumerate(zip(result["patches"], result["projections"], result["scores"])):
        tiles += [p, q]
        labels += [f"#{result['indices'][i]} ({s:.2f})", "projection"]
    return grid(tiles, title, cols=6, labels=labels, tile_size=1.3)


def plot_class_model(images, labels, title="class models (Simonyan et al. 2014)"):
    """One tile per optimised class image."""
    return grid(list(images), title, labels=labels, cmap="gray", tile_size=1.4)


def plot_embedding(points, labels, classes=None, title="penultimate-layer features in 2-D"):
    """Scatter of ``points`` (N, 2) coloured by class."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.5, 4.8))
    labels = np.asarray(labels)
    cmap = plt.get_cmap("tab10" if labels.max() < 10 else "tab20")
    for c in np.unique(labels):
        sel = labels == c
        ax.scatter(points[sel, 0], points[sel, 1], s=8, color=cmap(int(c) % cmap.N),
                   label=str(classes[c]) if classes is not None else str(c))
    ax.legend(fontsize=7, markerscale=2, loc="best", ncol=2)
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
    return fig


def plot_equivariance(demo):
    """The translation-equivariance demo: image, shifted image, their maps and the difference."""
    diff = np.where(demo["interior"], np.abs(demo["shifted_map"] - demo["map_then_shift"]), np.nan)
    tiles = [demo["image"], demo["shifted_image"], demo["map"], demo["shifted_map"], demo["map_then_shift"], diff]
    labels = ["x", "shift(x)", "conv(x)", "conv(shift(x))", "shift(conv(x))",
              f"|difference| inside (max {demo['max_interior_error']:.1e})"]
    return grid(tiles, f"convolution commutes with translation; 1-px shift changes the map by "
                       f"{demo['change_conv']:.0%}, its 2x2 max pooling by {demo['change_pooled']:.0%}",
                cols=3, labels=labels, tile_size=2.2)


def plot_vanishing_gradient(norms):
    """Per-layer gradient norms (log scale), sigmoid vs ReLU."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    for name, v in norms.items():
        ax.semilogy(np.arange(1, len(v) + 1), v, "o-", label=name)
    ax.set_xlabel("layer (1 = nearest the input)")
    ax.set_ylabel("||dL/dW||")
    ax.set_title("vanishing gradient: sigmoid'(x) <= 0.25 shrinks it layer after layer", fontsize=9)
    ax.legend()
    ax.grid(True, alpha=0.3)
    return fig
