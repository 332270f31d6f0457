"""YOLO v1's targets, loss and decoding (Redmon et al. 2016, section 2).

Grid: an ``image_size`` square image is cut into S x S cells of ``cell = image_size / S`` pixels. The
cell holding an object's centre is responsible for it; among that cell's B predicted boxes, the one
whose current box has the highest IoU with the object is the *responsible predictor*.

Parameterisation of the raw output ``(N, S, S, B*5 + C)`` (channels ``[x, y, w, h, c] * B`` then C):
``x, y = sigmoid(.)`` the centre's offset inside its cell in cell units, ``sqrt_w, sqrt_h = sigmoid(.)``
the square roots of width and height relative to the image, ``confidence = sigmoid(.)``, class
probabilities ``softmax(.)`` over the C scores.

Loss (the paper's equation 3, summed over the batch and divided by N)::

    lambda_coord * sum_ij 1obj_ij [(x - x^)^2 + (y - y^)^2]
  + lambda_coord * sum_ij 1obj_ij [(sqrt w - sqrt w^)^2 + (sqrt h - sqrt h^)^2]
  +                sum_ij 1obj_ij (C - C^)^2            C^ = IoU(predicted box, truth), held constant
  + lambda_noobj * sum_ij 1noobj_ij (C - 0)^2            1noobj_ij = 1 - 1obj_ij
  +                sum_i  1obj_i  sum_c (p(c) - p^(c))^2

with lambda_coord = 5 and lambda_noobj = 0.5. ``1obj_ij`` marks the responsible predictor; every other
predictor (including the second box of an object's cell) is pushed towards confidence 0.
A cell that would hold two object centres keeps the larger object (YOLO v1's known limit).
"""
from __future__ import annotations

import numpy as np

from .. import functional as F
from ..tensor import Tensor, tensor

__all__ = ["encode_targets", "decode_targets", "yolo_loss", "decode", "box_iou_np"]


def box_iou_np(a, b):
    """Elementwise IoU of boxes ``a`` and ``b`` (..., 4) in (x1, y1, x2, y2), broadcasting; 0 where both are empty."""
    iw = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    ih = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = iw * ih
    area = lambda x: (x[..., 2] - x[..., 0]) * (x[..., 3] - x[..., 1])  # noqa: E731
    union = area(a) + area(b) - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def encode_targets(targets, grid_size, image_size):
    """Ground truth as grid arrays.

    Args:
        targets: list of N dicts ``{"boxes": (K, 4) (x1, y1, x2, y2) pixels, "labels": (K,)}``.
        grid_size: S.
        image_size: side of the square image in pixels.

    Returns:
        dict of arrays: ``obj`` (N, S, S) float32 1 where a cell is responsible for an object;
        ``xywh`` (N, S, S, 4) float32 the centre offset in the cell (cell units) and the width and
        height relative to the image; ``boxes`` (N, S, S, 4) the box in pixels; ``labels`` (N, S, S) int64.
    """
    n, s, cell = len(targets), int(grid_size), image_size / grid_size
    obj = np.zeros((n, s, s), np.float32)
    xywh = np.zeros((n, s, s, 4), np.float32)
    boxes = np.zeros((n, s, s, 4), np.float32)
    labels = np.zeros((n, s, s), np.int64)
    area = np.zeros((n, s, s), np.float32)
    for i, t in enumerate(targets):
        b = np.asarray(t["boxes"], np.float64).reshape(-1, 4)
        for (x1, y1, x2, y2), lab in zip(b, np.asarray(t["labels"]).reshape(-1)):
            cx, cy, w, h = (x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1
            col, row = min(int(cx // cell), s - 1), min(int(cy // cell), s - 1)
            if obj[i, row, col] and area[i, row, col] >= w * h:
                continue  # the cell already holds a larger object
            obj[i, row, col], area[i, row, col], labels[i, row, col] = 1, w * h, lab
            xywh[i, row, col] = (cx / cell - col, cy / cell - row, w / image_size, h / image_size)
            boxes[i, row, col] = (x1, y1, x2, y2)
    return {"obj": obj, "xywh": xywh, "boxes": boxes, "labels": labels}


def _to_pixels(xywh, image_size):
    """(N, S_y, S_x, ..., 4) cell offsets + relative sizes -> (x1, y1, x2, y2) pixels.

    ``image_size``: the side of a square image, or ``(H, W)``.
    """
    h_img, w_img = (image_size, image_size) if np.isscalar(image_size) else image_size
    sy, sx = xywh.shape[1], xywh.shape[2]
    cols = np.arange(sx).reshape((1, 1, sx) + (1,) * (xywh.ndim - 4))
    rows = np.arange(sy).reshape((1, sy, 1) + (1,) * (xywh.ndim - 4))
    cx, cy = (cols + xywh[..., 0]) * (w_img / sx), (rows + xywh[..., 1]) * (h_img / sy)
    w, h = xywh[..., 2] * w_img, xywh[..., 3] * h_img
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=-1)


def decode_targets(encoded, image_size):
    """Inverse of :func:`encode_targets`: the list of ``{"boxes", "labels"}`` (row-major cell order)."""
    px = _to_pixels(encoded["xywh"].astype(np.float64), image_size)
    out = []
    for i in range(len(encoded["obj"])):
        m = encoded["obj"][i] > 0
        out.append({"boxes": px[i][m].astype(np.float32), "labels": encoded["labels"][i][m]})
    return out


def _split(pred, boxes_per_cell):
    """Raw (N, S, S, B*5+C) -> activations: xy (N,S,S,B,2), sqrt_wh (N,S,S,B,2), conf (N,S,S,B), probs (N,S,S,C)."""
    n, sy, sx, _ = pred.shape
    b = boxes_per_cell
    box = pred[..., :b * 5].reshape(n, sy, sx, b, 5)       # (N, S, S, B*5) -> (N, S, S, B, 5)
    xy, sqrt_wh = F.sigmoid(box[..., 0:2]), F.sigmoid(box[..., 2:4])
    conf = F.sigmoid(box[..., 4])
    probs = F.softmax(pred[..., b * 5:], dim=-1)
    return xy, sqrt_wh, conf, probs


def yolo_loss(pred, encoded, boxes_per_cell=2, lambda_coord=5.0, lambda_noobj=0.5, image_size=None):
    """The YOLO v1 loss (module docstring) of raw predictions against :func:`encode_targets` output.

    Args:
        pred: raw network output, Tensor ``(N, S, S, B*5 + C)``.
        encoded: dict from :func:`encode_targets` for the same S.
        boxes_per_cell: B.
        lambda_coord, lambda_noobj: the paper's weights (5 and 0.5).
        image_size: side of the image in pixels (default ``16 * S``).

    Returns:
        ``(loss, parts)``: the scalar loss Tensor (sum over the batch / N) and a dict of floats
        ``coord``, ``obj``, ``noobj``, ``class`` (each already weighted and divided by N).
    """
    n, s = pred.shape[0], pred.shape[1]
    if encoded["obj"].shape != (n, s, s):
        raise ValueError(f"yolo_loss: targets are encoded for grid {encoded['obj'].shape}, predictions have "
                         f"shape {tuple(pred.shape)}")
    image_size = image_size or 16 * s
    b, c = boxes_per_cell, pred.shape[-1] - 5 * boxes_per_cell
    xy, sqrt_wh, conf, probs = _split(pred, b)
    # responsible predictor: the highest IoU with the truth among the cell's B boxes (held constant)
    pred_xywh = np.concatenate([xy._data, sqrt_wh._data ** 2], axis=-1).astype(np.float64)  # (N, S, S, B, 4)
    iou = box_iou_np(_to_pixels(pred_xywh, image_size), encoded["boxes"][:, :, :, None, :].astype(np.float64))
    best = np.argmax(iou, axis=-1)                                                      # (N, S, S)
    resp = (np.arange(b) == best[..., None]) * encoded["obj"][..., None]                # (N, S, S, B)
    resp_t = tensor(resp.astype(np.float32))
    t_xy = tensor(np.broadcast_to(encoded["xywh"][..., None, 0:2], xy.shape).astype(np.float32))
    t_sqrt_wh = tensor(np.broadcast_to(np.sqrt(encoded["xywh"][..., None, 2:4]), sqrt_wh.shape).astype(np.float32))
    coord = lambda_coord * ((((xy - t_xy) ** 2).sum(-1) + ((sqrt_wh - t_sqrt_wh) ** 2).sum(-1)) * resp_t).sum()
    obj = (((conf - tensor((iou * resp).astype(np.float32))) ** 2) * resp_t).sum()
    noobj = lambda_noobj * ((conf ** 2) * tensor((1 - resp).astype(np.float32))).sum()
    onehot = np.eye(c, dtype=np.float32)[encoded["labels"]]                              # (N, S, S, C)
    cls = ((((probs - tensor(onehot)) ** 2).sum(-1)) * tensor(encoded["obj"])).sum()
    total = (coord + obj + noobj + cls) / n
    parts = {k: float(v._data) / n for k, v in (("coord", coord), ("obj", obj), ("noobj", noobj), ("class", cls))}
    return total, parts


def decode(pred, boxes_per_cell=2, score_threshold=0.01, iou_threshold=0.5, max_detections=100, image_size=None):
    """Detections from raw predictions: class-specific scores, then per-class NMS.

    ``image_size``: the image side, or ``(H, W)`` (default 16 times the grid).

    The score of box j of cell i for class c is ``confidence_ij * p_i(c)`` (the paper's class-specific
    confidence); every (box, class) pair above ``score_threshold`` is a candidate, boxes are clipped to
    the image, and ``convnet.vision.ops.batched_nms`` removes overlaps within each class.

    Returns:
        list of N dicts ``{"boxes": (K, 4) float32, "scores": (K,) float32, "labels": (K,) int64}``,
        highest score first, at most ``max_detections`` each.
    """
    raw = pred if isinstance(pred, Tensor) else tensor(np.asarray(pred, np.float32))
    n = raw.shape[0]
    h_img, w_img = (16 * raw.shape[1], 16 * raw.shape[2]) if image_size is None else (
        (image_size, image_size) if np.isscalar(image_size) else tuple(image_size))
    xy, sqrt_wh, conf, probs = _split(raw.detach(), boxes_per_cell)
    px = _to_pixels(np.concatenate([xy._data, sqrt_wh._data ** 2], axis=-1), (h_img, w_img))  # (N, S, S, B, 4)
    px = np.clip(px, 0, [w_img, h_img, w_img, h_img])
    scores = conf._data[..., :, None] * probs._data[..., None, :]                         # (N, S, S, B, C)
    out = []
    for i in range(n):
        sc = scores[i].reshape(-1)                                         # (S*S*B*C,)
        keep = np.nonzero(sc > score_threshold)[0]
        c = scores.shape[-1]
        boxes = px[i].reshape(-1, 4)[keep // c].astype(np.float32)         # (S*S*B, 4) rows of the kept pairs
        labels, sc = (keep % c).astype(np.int64), sc[keep].astype(np.float32)
        kept = _batched_nms(boxes, sc, labels, iou_threshold)[:max_detections]
        out.append({"boxes": boxes[kept], "scores": sc[kept], "labels": labels[kept]})
    return out


def _batched_nms(boxes, scores, labels, iou_threshold):
    """``convnet.vision.ops.batched_nms`` on arrays; kept indices (by decreasing score) as an int64 array."""
    from ..vision.ops import batched_nms

    if len(boxes) == 0:
        return np.zeros(0, np.int64)
    kept = batched_nms(tensor(boxes), tensor(scores), tensor(labels), iou_threshold)
    return np.asarray(kept._data if isinstance(kept, Tensor) else kept, dtype=np.int64)
