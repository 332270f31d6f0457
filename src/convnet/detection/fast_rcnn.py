"""Fast R-CNN in miniature (Girshick 2015): proposals -> RoI pooling on a shared feature map -> class + box.

1. **Proposals.** Region proposals come from outside the network (the paper used selective search).
   On a clean canvas the connected components of the ink are the natural regions: each component's
   box, plus the union of every two components that fit together in a digit-sized box (a digit
   drawn in two strokes).
2. **Shared features.** Three 3x3 convolutions (two 2x2 max-pools, stride 4) run once per image.
3. **RoI pooling.** ``convnet.vision.ops.roi_pool`` cuts each proposal's part of the feature map into
   ``POOL x POOL`` bins and max-pools each.
4. **Two heads.** A fully connected layer, then 11 class scores (10 digits + background) and, per
   digit class, 4 box-regression deltas ``(t_x, t_y, t_w, t_h)`` relative to the proposal (R-CNN's
   parameterisation, divided by ``DELTA_STD``).

Loss: cross-entropy over the sampled RoIs + smooth L1 (beta = 1) of the true class's deltas over the
foreground RoIs (IoU >= 0.5 with a digit; background: IoU < 0.5).
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from .. import functional as F
from .. import manual_seed, nn, no_grad, optim
from ..tensor import tensor
from .yolo import _batched_nms, box_iou_np

__all__ = ["FastRCNN", "proposals", "encode_deltas", "decode_deltas", "train_fast_rcnn", "FastRCNNDetector"]

POOL = 5                      # RoI pooling output size
STRIDE = 4                    # feature map stride
DELTA_STD = np.array([0.1, 0.1, 0.2, 0.2], np.float32)
BACKGROUND = 10


class FastRCNN(nn.Module):
    """Backbone + RoI pooling + class and box heads.

    Shape:
        - Input: images ``(N, 1, H, W)``, rois ``(K, 5)`` ``(batch_index, x1, y1, x2, y2)`` in pixels
        - Output: class scores ``(K, num_classes + 1)`` (last = background), deltas ``(K, num_classes, 4)``
    """

    def __init__(self, num_classes=10, width=16, hidden=128):
        super().__init__()
        self.num_classes = num_classes
        self.features = nn.Sequential(
            nn.Conv2d(1, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2),
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2),
            nn.Conv2d(2 * width, 2 * width, 3, padding=1), nn.ReLU())
        self.fc = nn.Sequential(nn.Flatten(), nn.Linear(2 * width * POOL * POOL, hidden), nn.ReLU())
        self.cls_score = nn.Linear(hidden, num_classes + 1)
        self.bbox_pred = nn.Linear(hidden, 4 * num_classes)

    def forward(self, images, rois):
        from ..vision.ops import roi_pool

        pooled = roi_pool(self.features(images), rois, POOL, spatial_scale=1.0 / STRIDE)  # (K, C, POOL, POOL)
        h = self.fc(pooled)
        return self.cls_score(h), self.bbox_pred(h).reshape(-1, self.num_classes, 4)     # (K, 4C) -> (K, C, 4)


def _components(mask):
    """Boxes (P, 4) of the 8-connected components of a boolean mask."""
    lab, _ = ndimage.label(mask, structure=np.ones((3, 3)))
    boxes = [(s[1].start, s[0].start, s[1].stop, s[0].stop) for s in ndimage.find_objects(lab)]
    return np.asarray(boxes, np.float32).reshape(-1, 4)


def proposals(image, threshold=0.1, max_side=44):
    """Connected-component proposals of an image (H, W): (P, 4) float32 boxes.

    The components of the ink, of the ink thickened by one pixel (strokes that nearly touch), and of the
    bright core of the ink (> 0.6: digits that touch through faint pixels); each box, and the union of
    every two boxes that fits in a ``max_side`` square. Duplicates are removed.
    """
    ink = image > threshold
    boxes = np.concatenate([_components(ink), _components(ndimage.binary_dilation(ink)),
                            _components(image > 0.6)])
    boxes = boxes[(boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]) >= 4]
    pairs = [np.concatenate([np.minimum(a[:2], b[:2]), np.maximum(a[2:], b[2:])])
             for i, a in enumerate(boxes) for b in boxes[i + 1:]]
    pairs = [p for p in pairs if max(p[2] - p[0], p[3] - p[1]) <= max_side]
    out = np.concatenate([boxes, np.asarray(pairs, np.float32).reshape(-1, 4)])
    return np.unique(out, axis=0) if len(out) else out


def encode_deltas(proposal, gt):
    """R-CNN box-regression targets of ``gt`` relative to ``proposal`` (both (K, 4)), divided by ``DELTA_STD``."""
    pw, ph = proposal[:, 2] - proposal[:, 0], proposal[:, 3] - proposal[:, 1]
    px, py = proposal[:, 0] + pw / 2, proposal[:, 1] + ph / 2
    gw, gh = gt[:, 2] - gt[:, 0], gt[:, 3] - gt[:, 1]
    gx, gy = gt[:, 0] + gw / 2, gt[:, 1] + gh / 2
    d = np.stack([(gx - px) / pw, (gy - py) / ph, np.log(gw / pw), np.log(gh / ph)], axis=1)
    return (d / DELTA_STD).astype(np.float32)


def decode_deltas(proposal, deltas):
    """Inverse of :func:`encode_deltas`: boxes (K, 4) from proposals (K, 4) and deltas (K, 4)."""
    d = deltas * DELTA_STD
    pw, ph = proposal[:, 2] - proposal[:, 0], proposal[:, 3] - proposal[:, 1]
    cx, cy = proposal[:, 0] + pw / 2 + d[:, 0] * pw, proposal[:, 1] + ph / 2 + d[:, 1] * ph
    w, h = pw * np.exp(np.clip(d[:, 2], -4, 4)), ph * np.exp(np.clip(d[:, 3], -4, 4))
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1).astype(np.float32)


def _sample_rois(image, target, rng, n_fg=6, n_rois=12):
    """Training RoIs of one canvas: proposals + jittered truth + random windows; ``(boxes, labels, deltas)``."""
    gt, h, w = target["boxes"], image.shape[0], image.shape[1]
    jit = []
    for b in gt:
        bw, bh = b[2] - b[0], b[3] - b[1]
        for _ in range(2):
            jit.append(b + rng.uniform(-0.15, 0.15, 4) * [bw, bh, bw, bh])
    side = rng.uniform(16, 44, (8, 2))
    x, y = rng.uniform(0, w - side[:, 0]), rng.uniform(0, h - side[:, 1])
    rand = np.stack([x, y, x + side[:, 0], y + side[:, 1]], axis=1)
    cand = np.concatenate([proposals(image), np.asarray(jit, np.float32).reshape(-1, 4), rand]).astype(np.float32)
    iou = box_iou_np(cand[:, None], gt[None]) if len(gt) else np.zeros((len(cand), 1))
    best, arg = iou.max(1), iou.argmax(1)
    fg, bg = np.nonzero(best >= 0.5)[0], np.nonzero(best < 0.5)[0]
    fg = rng.permutation(fg)[:n_fg]
    bg = rng.permutation(bg)[:n_rois - len(fg)]
    sel = np.concatenate([fg, bg])
    labels = np.full(len(sel), BACKGROUND, np.int64)
    deltas = np.zeros((len(sel), 4), np.float32)
    if len(fg):
        labels[:len(fg)] = target["labels"][arg[fg]]
        deltas[:len(fg)] = encode_deltas(cand[fg], gt[arg[fg]])
    return cand[sel], labels, deltas


def train_fast_rcnn(dataset, epochs=6, batch_size=8, lr=1e-3, seed=0, log=None):
    """A :class:`FastRCNN` trained on ``dataset`` canvases (Adam; RoIs re-sampled every epoch)."""
    manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = FastRCNN(num_classes=len(dataset.classes))
    opt = optim.Adam(model.parameters(), lr=lr)
    images = np.asarray(dataset.images, np.float32)
    for epoch in range(epochs):
        model.train()
        order, total, n = rng.permutation(len(images)), 0.0, 0
        for s in range(0, len(images), batch_size):
            idx = order[s:s + batch_size]
            rois, labels, deltas = [], [], []
            for j, i in enumerate(idx):
                b, lab, d = _sample_rois(images[i, 0], dataset.targets[i], rng)
                rois.append(np.concatenate([np.full((len(b), 1), j, np.float32), b], axis=1))
                labels.append(lab)
                deltas.append(d)
            rois, labels, deltas = np.concatenate(rois), np.concatenate(labels), np.concatenate(deltas)
            scores, pred = model(tensor(images[idx]), tensor(rois))
            fg = (labels != BACKGROUND).astype(np.float32)
            onehot = np.eye(model.num_classes, dtype=np.float32)[np.minimum(labels, model.num_classes - 1)]
            pred_true = (pred * tensor((onehot * fg[:, None])[:, :, None])).sum(1)     # (K, C, 4) -> (K, 4)
            box_loss = F.smooth_l1_loss(pred_true, tensor(deltas * fg[:, None]), reduction="sum", beta=1.0)
            loss = F.cross_entropy(scores, tensor(labels)) + box_loss / max(1.0, float(fg.sum()))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total, n = total + float(loss._data) * len(idx), n + len(idx)
        if log:
            log(f"epoch {epoch + 1}: loss {total / n:.3f}")
    model.eval()
    return model


class FastRCNNDetector:
    """``detector(images (N, 1, H, W)) -> list of {"boxes", "scores", "labels"}``: proposals, heads, per-class NMS."""

    def __init__(self, model, score_threshold=0.05, iou_threshold=0.5):
        self.model, self.score_threshold, self.iou_threshold = model, score_threshold, iou_threshold

    def __call__(self, images):
        images = np.asarray(images, np.float32)
        props = [proposals(img[0]) for img in images]
        rois = np.concatenate([np.concatenate([np.full((len(p), 1), i, np.float32), p], axis=1)
                               for i, p in enumerate(props)] + [np.zeros((0, 5), np.float32)])
        self.model.eval()
        if len(rois):
            with no_grad():
                scores, deltas = self.model(tensor(images), tensor(rois))
            probs, deltas = F.softmax(scores, dim=1)._data, deltas._data
        out, start = [], 0
        h, w = images.shape[2:]
        for p in props:
            k, c = len(p), self.model.num_classes
            pr, de = probs[start:start + k, :c], deltas[start:start + k]    # (k, C), (k, C, 4)
            start += k
            boxes = decode_deltas(np.repeat(p, c, axis=0), de.reshape(-1, 4)).reshape(-1, 4)  # (k*C, 4)
            boxes = np.clip(boxes, 0, [w, h, w, h])
            sc, labels = pr.reshape(-1), np.tile(np.arange(c), k)
            m = sc > self.score_threshold
            b, s, lab = boxes[m], sc[m].astype(np.float32), labels[m].astype(np.int64)
            kept = _batched_nms(b, s, lab, self.iou_threshold)[:100]
            out.append({"boxes": b[kept], "scores": s[kept], "labels": lab[kept]})
        return out
