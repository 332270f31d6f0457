"""Training and evaluation loops shared by the detectors (YOLO, sliding windows, Fast R-CNN)."""
from __future__ import annotations

import time

import numpy as np

from .. import models, no_grad, optim
from ..tensor import tensor
from . import yolo

__all__ = ["train_yolo", "YOLODetector", "evaluate"]


class YOLODetector:
    """A trained YOLO network with its decoding settings: ``detector(images) -> list of detections``."""

    def __init__(self, model, score_threshold=0.01, iou_threshold=0.5):
        self.model, self.score_threshold, self.iou_threshold = model, score_threshold, iou_threshold

    def __call__(self, images):
        self.model.eval()
        with no_grad():
            raw = self.model(tensor(np.asarray(images, np.float32)))
        return yolo.decode(raw, self.model.boxes_per_cell, self.score_threshold, self.iou_threshold,
                           image_size=tuple(images.shape[-2:]))


def train_yolo(dataset, epochs=10, batch_size=32, lr=1e-3, seed=0, model=None, log=None, width=16):
    """Train a ``yolo_v1`` on a :func:`convnet.data.multi_digit` dataset with Adam and a cosine schedule.

    Args:
        dataset: has ``images`` (N, 1, H, W) and ``targets`` (list of ``{"boxes", "labels"}``).
        epochs, batch_size, lr, seed: the usual; the same seed repeats the run.
        model: continue training this model (default: a fresh ``yolo_v1`` with ``width``).
        log: called as ``log(epoch, mean_loss, parts)`` after each epoch.

    Returns:
        ``(model, history)``: the model in eval mode and the list of per-epoch mean losses.
    """
    from .. import manual_seed

    manual_seed(seed)
    model = model or models.get("yolo_v1", num_classes=len(dataset.classes), width=width)
    images = np.asarray(dataset.images, np.float32)
    s = images.shape[-1] // model.stride
    enc = yolo.encode_targets(dataset.targets, s, images.shape[-1])
    opt = optim.Adam(model.parameters(), lr=lr)
    steps = epochs * -(-len(images) // batch_size)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, steps))
    rng = np.random.default_rng(seed)
    history = []
    for epoch in range(epochs):
        model.train()
        order, total, parts_sum = rng.permutation(len(images)), 0.0, {}
        for start in range(0, len(images), batch_size):
            idx = order[start:start + batch_size]
            loss, parts = yolo.yolo_loss(model(tensor(images[idx])), {k: v[idx] for k, v in enc.items()},
                                         model.boxes_per_cell, image_size=tuple(images.shape[-2:]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss._data) * len(idx)
            for k, v in parts.items():
                parts_sum[k] = parts_sum.get(k, 0.0) + v * len(idx)
        history.append(total / len(images))
        if log:
            log(epoch, history[-1], {k: v / len(images) for k, v in parts_sum.items()})
    model.eval()
    return model, history


def evaluate(detector, dataset, batch_size=50):
    """Run ``detector`` over ``dataset`` and score it with COCO's mAP.

    Returns:
        dict: ``map``, ``map_50``, ``map_75`` (``convnet.vision.metrics.mean_average_precision``),
        ``seconds_per_image`` (wall time of detection only) and ``preds`` (the detections).
    """
    from ..vision.metrics import mean_average_precision

    images = np.asarray(dataset.images, np.float32)
    preds, t0 = [], time.perf_counter()
    for start in range(0, len(images), batch_size):
        preds += detector(images[start:start + batch_size])
    seconds = (time.perf_counter() - t0) / max(1, len(images))
    m = mean_average_precision(preds, list(dataset.targets))
    out = {k: float(np.asarray(getattr(m[k], "_data", m[k]))) for k in ("map", "map_50", "map_75")}
    return {**out, "seconds_per_image": seconds, "preds": preds}
