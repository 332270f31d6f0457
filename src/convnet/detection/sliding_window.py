"""The sliding-window detector the notes start from: a classifier run over windows, then NMS.

LeNet-5 gets an 11th output, *background*. It is trained on window crops of the training canvases,
each resized to 32x32: windows with IoU >= 0.5 with a digit's box take the digit's class, windows
with IoU < 0.3 with every box are background (the rest are ambiguous and left out). At test time
every window of ``WINDOWS`` (three heights x three aspect ratios) at a stride of ``stride`` pixels (8) is
classified; a window's score is its most probable digit's probability, and per-class NMS keeps the
best of overlapping windows. The boxes are the windows themselves: nothing refines them, which is
what bounding-box regression (Fast R-CNN, YOLO) adds.
"""
from __future__ import annotations

import numpy as np

from .. import functional as F
from .. import manual_seed, models, no_grad, optim
from ..tensor import tensor
from .yolo import _batched_nms, box_iou_np

__all__ = ["WINDOWS", "window_boxes", "crop_resize", "train_classifier", "SlidingWindowDetector"]

# (height, width) of the windows: heights 22, 30, 38 px, width / height 0.45, 0.75, 1.0
WINDOWS = [(h, max(8, round(h * a))) for h in (22, 30, 38) for a in (0.45, 0.75, 1.0)]
BACKGROUND = 10


def window_boxes(height, width, stride=8, windows=WINDOWS):
    """Every window of every shape at ``stride`` px inside an image: (K, 4) float32 (x1, y1, x2, y2)."""
    out = []
    for wh, ww in windows:
        ys, xs = np.arange(0, height - wh + 1, stride), np.arange(0, width - ww + 1, stride)
        y, x = np.meshgrid(ys, xs, indexing="ij")
        out.append(np.stack([x.ravel(), y.ravel(), x.ravel() + ww, y.ravel() + wh], axis=1))
    return np.concatenate(out).astype(np.float32)


def crop_resize(image, boxes, size=32):
    """Bilinear crops of ``image`` (H, W) at ``boxes`` (K, 4), each resized to ``size`` x ``size``; 0 outside.

    Sample ``(i, j)`` of a box ``(x1, y1, x2, y2)`` is taken at the centre of the output pixel mapped back
    into the box: ``x = x1 + (j + 0.5) (x2 - x1) / size - 0.5`` in pixel-index coordinates.
    """
    h, w = image.shape
    padded = np.pad(image, 1)                                             # zeros outside the image
    t = (np.arange(size) + 0.5) / size                                    # (size,)
    xs = boxes[:, 0:1] + t * (boxes[:, 2:3] - boxes[:, 0:1]) - 0.5 + 1    # (K, size) in padded coordinates
    ys = boxes[:, 1:2] + t * (boxes[:, 3:4] - boxes[:, 1:2]) - 0.5 + 1
    xs, ys = np.clip(xs, 0, w + 1), np.clip(ys, 0, h + 1)           # beyond the zero border: 0
    x0, y0 = np.floor(xs).astype(np.int64), np.floor(ys).astype(np.int64)
    fx, fy = xs - x0, ys - y0
    x1, y1 = np.minimum(x0 + 1, w + 1), np.minimum(y0 + 1, h + 1)
    g = lambda yy, xx: padded[yy[:, :, None], xx[:, None, :]]             # noqa: E731  (K, size, size)
    top = g(y0, x0) * (1 - fx[:, None, :]) + g(y0, x1) * fx[:, None, :]
    bottom = g(y1, x0) * (1 - fx[:, None, :]) + g(y1, x1) * fx[:, None, :]
    return (top * (1 - fy[:, :, None]) + bottom * fy[:, :, None]).astype(np.float32)


def _training_windows(dataset, rng, per_box=3, negatives=8):
    """Crops and labels: ``per_box`` jittered windows around each digit, ``negatives`` background windows per canvas."""
    crops, labels = [], []
    shapes = np.array(WINDOWS, np.float32)
    for img, t in zip(np.asarray(dataset.images)[:, 0], dataset.targets):
        gt = t["boxes"]
        h, w = img.shape
        jit = []
        for b in gt:  # the digit's box, scaled by 0.9-1.2 and shifted by up to 10% of its size
            bw, bh, cx, cy = b[2] - b[0], b[3] - b[1], (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
            for _ in range(per_box):
                s = rng.uniform(0.9, 1.2, 2)
                dx, dy = rng.uniform(-0.1, 0.1, 2) * (bw, bh)
                jit.append([cx + dx - s[0] * bw / 2, cy + dy - s[1] * bh / 2, cx + dx + s[0] * bw / 2,
                            cy + dy + s[1] * bh / 2])
        k = shapes[rng.integers(len(shapes), size=negatives * 3)]
        x = rng.uniform(0, w - k[:, 1]), rng.uniform(0, h - k[:, 0])
        rand = np.stack([x[0], x[1], x[0] + k[:, 1], x[1] + k[:, 0]], axis=1)
        cand = np.concatenate([np.asarray(jit, np.float32).reshape(-1, 4), rand]).astype(np.float32)
        iou = box_iou_np(cand[:, None], gt[None]) if len(gt) else np.zeros((len(cand), 0))
        best = iou.max(1) if len(gt) else np.zeros(len(cand))
        lab = np.where(best >= 0.5, t["labels"][iou.argmax(1)] if len(gt) else BACKGROUND, BACKGROUND)
        keep = (best >= 0.5) | (best < 0.3)
        bg = np.nonzero(keep & (lab == BACKGROUND))[0][:negatives]
        fg = np.nonzero(keep & (lab != BACKGROUND))[0]
        sel = np.concatenate([fg, bg])
        crops.append(crop_resize(img, cand[sel]))
        labels.append(lab[sel])
    return np.concatenate(crops)[:, None], np.concatenate(labels).astype(np.int64)


def train_classifier(dataset, epochs=4, batch_size=64, lr=1e-3, seed=0, log=None):
    """LeNet-5 with 11 classes (digits + background) trained on window crops of ``dataset`` (Adam)."""
    manual_seed(seed)
    rng = np.random.default_rng(seed)
    x, y = _training_windows(dataset, rng)
    model = models.get("lenet5", num_classes=11)
    opt = optim.Adam(model.parameters(), lr=lr)
    for epoch in range(epochs):
        model.train()
        order, total, correct = rng.permutation(len(x)), 0.0, 0
        for s in range(0, len(x), batch_size):
            idx = order[s:s + batch_size]
            out = model(tensor(x[idx]))
            loss = F.cross_entropy(out, tensor(y[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss._data) * len(idx)
            correct += int((out._data.argmax(1) == y[idx]).sum())
        if log:
            log(f"epoch {epoch + 1}: {len(x)} windows ({(y != BACKGROUND).mean():.0%} digits), loss "
                f"{total / len(x):.3f}, window accuracy {correct / len(x):.3f}")
    model.eval()
    return model


class SlidingWindowDetector:
    """``detector(images (N, 1, H, W)) -> list of {"boxes", "scores", "labels"}`` with a background-class classifier."""

    def __init__(self, model, stride=8, score_threshold=0.05, iou_threshold=0.3, windows=WINDOWS):
        self.model, self.stride, self.windows = model, stride, windows
        self.score_threshold, self.iou_threshold = score_threshold, iou_threshold

    def __call__(self, images):
        images = np.asarray(images, np.float32)
        boxes = window_boxes(images.shape[2], images.shape[3], self.stride, self.windows)
        self.model.eval()
        out = []
        for img in images[:, 0]:
            with no_grad():
                probs = F.softmax(self.model(tensor(crop_resize(img, boxes)[:, None])), dim=1)._data
            labels, scores = probs[:, :BACKGROUND].argmax(1), probs[:, :BACKGROUND].max(1)
            m = scores > self.score_threshold
            b, s, lab = boxes[m], scores[m].astype(np.float32), labels[m].astype(np.int64)
            kept = _batched_nms(b, s, lab, self.iou_threshold)[:100]
            out.append({"boxes": b[kept], "scores": s[kept], "labels": lab[kept]})
        return out
