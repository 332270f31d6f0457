"""Detection primitives with torchvision's names and semantics (``torchvision.ops``).

Boxes are ``(x1, y1, x2, y2)`` with ``0 <= x1 < x2`` and ``0 <= y1 < y2`` unless said otherwise.
The box arithmetic (``box_area``, ``box_iou``, ``generalized_box_iou``, ``box_convert``) is composed
from differentiable tensor ops, so it has gradients by construction (a GIoU loss trains).
``nms`` and ``batched_nms`` return indices (no gradient). ``roi_pool`` and ``roi_align`` are
primitives with hand-written backward passes in :mod:`convnet.ops.roi` (reached through
:mod:`convnet.functional.roi`).

Example:
    >>> from convnet.vision import ops
    >>> boxes = cn.tensor([[0., 0., 10., 10.], [1., 1., 11., 11.], [20., 20., 30., 30.]])
    >>> ops.nms(boxes, cn.tensor([0.9, 0.8, 0.7]), iou_threshold=0.5)
    tensor([0, 2])
"""
from __future__ import annotations

import numpy as np

from .. import maximum, minimum, stack
from ..functional import roi as _roi
from ..nn import Module
from ..tensor import Tensor, as_tensor

__all__ = ["box_convert", "box_area", "box_iou", "generalized_box_iou", "clip_boxes_to_image",
           "remove_small_boxes", "nms", "batched_nms", "roi_pool", "roi_align", "RoIPool", "RoIAlign"]

_FORMATS = ("xyxy", "xywh", "cxcywh")


def _boxes(name, fn, boxes):
    """``boxes`` as a Tensor of shape ``(N, 4)`` (a clear error otherwise)."""
    t = boxes if isinstance(boxes, Tensor) else as_tensor(np.asarray(boxes, dtype=np.float32))
    if t.ndim != 2 or t.shape[-1] != 4:
        raise ValueError(f"{fn}: {name} must have shape (N, 4) as (x1, y1, x2, y2), received {tuple(t.shape)}")
    return t


def _cols(b):
    return b[:, 0], b[:, 1], b[:, 2], b[:, 3]


def box_convert(boxes, in_fmt, out_fmt):
    """Convert ``(N, 4)`` boxes between ``'xyxy'`` (corners), ``'xywh'`` (top-left corner, width,
    height) and ``'cxcywh'`` (centre, width, height), as ``torchvision.ops.box_convert``."""
    for arg, fmt in (("in_fmt", in_fmt), ("out_fmt", out_fmt)):
        if fmt not in _FORMATS:
            raise ValueError(f"box_convert: {arg} must be one of {_FORMATS}, received {fmt!r}")
    b = _boxes("boxes", "box_convert", boxes)
    if in_fmt == out_fmt:
        return b.clone()
    a0, a1, a2, a3 = _cols(b)
    if in_fmt == "xywh":  # -> xyxy
        a0, a1, a2, a3 = a0, a1, a0 + a2, a1 + a3
    elif in_fmt == "cxcywh":
        a0, a1, a2, a3 = a0 - 0.5 * a2, a1 - 0.5 * a3, a0 + 0.5 * a2, a1 + 0.5 * a3
    if out_fmt == "xywh":  # xyxy ->
        a0, a1, a2, a3 = a0, a1, a2 - a0, a3 - a1
    elif out_fmt == "cxcywh":
        a0, a1, a2, a3 = (a0 + a2) / 2, (a1 + a3) / 2, a2 - a0, a3 - a1
    return stack([a0, a1, a2, a3], dim=-1)


def box_area(boxes):
    """Area ``(x2 - x1) * (y2 - y1)`` of each of the ``(N, 4)`` boxes; shape ``(N,)``."""
    x1, y1, x2, y2 = _cols(_boxes("boxes", "box_area", boxes))
    return (x2 - x1) * (y2 - y1)


def _inter_union(boxes1, boxes2, fn):
    b1, b2 = _boxes("boxes1", fn, boxes1), _boxes("boxes2", fn, boxes2)
    lt = maximum(b1[:, None, :2], b2[None, :, :2])                    # (N, M, 2)
    rb = minimum(b1[:, None, 2:], b2[None, :, 2:])                    # (N, M, 2)
    wh = (rb - lt).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    union = box_area(b1)[:, None] + box_area(b2)[None, :] - inter
    return b1, b2, inter, union


def box_iou(boxes1, boxes2):
    """Pairwise intersection over union ``|A ∩ B| / |A ∪ B|`` of ``(N, 4)`` and ``(M, 4)`` boxes: ``(N, M)``."""
    _, _, inter, union = _inter_union(boxes1, boxes2, "box_iou")
    return inter / union


def generalized_box_iou(boxes1, boxes2):
    """Pairwise generalized IoU (Rezatofighi et al. 2019): ``IoU - |C \\ (A ∪ B)| / |C|`` with ``C`` the
    smallest box enclosing both; in ``[-1, 1]``; shape ``(N, M)``."""
    b1, b2, inter, union = _inter_union(boxes1, boxes2, "generalized_box_iou")
    lt = minimum(b1[:, None, :2], b2[None, :, :2])
    rb = maximum(b1[:, None, 2:], b2[None, :, 2:])
    wh = (rb - lt).clamp(min=0)
    hull = wh[..., 0] * wh[..., 1]
    return inter / union - (hull - union) / hull


def clip_boxes_to_image(boxes, size):
    """Clip ``(N, 4)`` boxes to an image of ``size = (height, width)``."""
    b = _boxes("boxes", "clip_boxes_to_image", boxes)
    h, w = size
    x1, y1, x2, y2 = _cols(b)
    return stack([x1.clamp(0, w), y1.clamp(0, h), x2.clamp(0, w), y2.clamp(0, h)], dim=-1)


def remove_small_boxes(boxes, min_size):
    """Indices (int64) of the boxes whose width and height are both at least ``min_size``."""
    b = _np(_boxes("boxes", "remove_small_boxes", boxes))
    keep = np.nonzero(((b[:, 2] - b[:, 0]) >= min_size) & ((b[:, 3] - b[:, 1]) >= min_size))[0]
    return as_tensor(keep.astype(np.int64))


def _np(t):
    return t._data if isinstance(t, Tensor) else np.asarray(t)


def _nms_indices(b, s, iou_threshold):
    """Greedy NMS on arrays: visit boxes by decreasing score (ties: lower index first), keep one,
    drop every later box whose IoU with it is greater than ``iou_threshold``."""
    order = np.argsort(-s, kind="stable")
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    keep = []
    while order.size:
        i, rest = order[0], order[1:]
        keep.append(i)
        w = np.clip(np.minimum(b[i, 2], b[rest, 2]) - np.maximum(b[i, 0], b[rest, 0]), 0, None)
        h = np.clip(np.minimum(b[i, 3], b[rest, 3]) - np.maximum(b[i, 1], b[rest, 1]), 0, None)
        inter = w * h
        with np.errstate(divide="ignore", invalid="ignore"):
            iou = inter / (area[i] + area[rest] - inter)
        order = rest[~(iou > iou_threshold)]  # NaN IoU (two empty boxes) suppresses nothing, as torchvision
    return np.asarray(keep, dtype=np.int64)


def _scores(scores, n, fn):
    s = _np(scores)
    if s.shape != (n,):
        raise ValueError(f"{fn}: scores must have shape ({n},) to match boxes, received {tuple(s.shape)}")
    return s


def nms(boxes, scores, iou_threshold):
    """Non-maximum suppression, as ``torchvision.ops.nms``.

    Args:
        boxes: ``(N, 4)`` boxes ``(x1, y1, x2, y2)``.
        scores: ``(N,)`` scores.
        iou_threshold: a box is discarded when its IoU with a kept, higher-scoring box is
            *greater than* this value.

    Returns:
        int64 Tensor of the kept indices, sorted by decreasing score.
    """
    b = _np(_boxes("boxes", "nms", boxes))
    return as_tensor(_nms_indices(b, _scores(scores, b.shape[0], "nms"), float(iou_threshold)))


def batched_nms(boxes, scores, idxs, iou_threshold):
    """NMS within each category ``idxs`` (boxes of different categories never suppress each other),
    as ``torchvision.ops.batched_nms``; kept indices sorted by decreasing score."""
    b = _np(_boxes("boxes", "batched_nms", boxes))
    s = _scores(scores, b.shape[0], "batched_nms")
    c = _np(idxs)
    if c.shape != s.shape:
        raise ValueError(f"batched_nms: idxs must have shape ({b.shape[0]},) to match boxes, received {tuple(c.shape)}")
    keep = [np.nonzero(c == k)[0][_nms_indices(b[c == k], s[c == k], float(iou_threshold))] for k in np.unique(c)]
    keep = np.concatenate(keep) if keep else np.zeros(0, np.int64)
    keep = keep[np.argsort(-s[keep], kind="stable")]
    return as_tensor(keep.astype(np.int64))


def _rois(boxes, fn, dtype):
    """``boxes`` as the ``(K, 5)`` Tensor ``(batch_index, x1, y1, x2, y2)``: a (K, 5) tensor as is, or
    a list of ``(L_i, 4)`` tensors (one per image) with the image index prepended."""
    if isinstance(boxes, (list, tuple)):
        parts = []
        for i, b in enumerate(boxes):
            a = np.asarray(_np(b), dtype=dtype)
            if a.ndim != 2 or a.shape[1] != 4:
                raise ValueError(f"{fn}: boxes[{i}] must have shape (L, 4), received {a.shape}")
            parts.append(np.concatenate([np.full((len(a), 1), i, dtype), a], axis=1))
        rois = np.concatenate(parts) if parts else np.zeros((0, 5), dtype)
    else:
        rois = np.asarray(_np(boxes), dtype=dtype)
        if rois.ndim != 2 or rois.shape[1] != 5:
            raise ValueError(f"{fn}: boxes must be a (K, 5) tensor (batch_index, x1, y1, x2, y2) or a list of "
                             f"(L, 4) tensors, received shape {rois.shape}")
    return as_tensor(rois)


def _check_roi_args(fn, x, rois, output_size):
    if not isinstance(x, Tensor) or x.ndim != 4:
        raise ValueError(f"{fn}: input must be a (N, C, H, W) Tensor, received "
                         f"{tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__}")
    size = (output_size, output_size) if isinstance(output_size, int) else tuple(output_size)
    if len(size) != 2 or any(not isinstance(v, (int, np.integer)) or v < 1 for v in size):
        raise ValueError(f"{fn}: output_size must be a positive int or (height, width), received {output_size!r}")
    b = rois._data[:, 0]
    if b.size and (b.min() < 0 or b.max() >= x.shape[0] or np.any(b != np.round(b))):
        raise ValueError(f"{fn}: box batch indices must be integers in [0, {x.shape[0]}), received "
                         f"{sorted(set(b.tolist()))[:5]}")
    return tuple(int(v) for v in size)


def roi_pool(input, boxes, output_size, spatial_scale=1.0):
    """RoI max pooling (Fast R-CNN), as ``torchvision.ops.roi_pool``.

    Each box is scaled by ``spatial_scale``, its corners rounded to feature-map cells, and cut into
    ``output_size`` bins; each bin outputs the maximum of the cells it covers (0 when empty).

    Args:
        input: ``(N, C, H, W)`` feature map.
        boxes: ``(K, 5)`` Tensor ``(batch_index, x1, y1, x2, y2)``, or a list of ``(L_i, 4)``
            Tensors (one per image of the batch).
        output_size: ``int`` or ``(PH, PW)``.
        spatial_scale: feature-map size / image size (e.g. ``1/16`` after four stride-2 stages).

    Shape:
        output ``(K, C, PH, PW)``.
    """
    rois = _rois(boxes, "roi_pool", input._data.dtype if isinstance(input, Tensor) else np.float32)
    size = _check_roi_args("roi_pool", input, rois, output_size)
    return _roi.roi_pool(input, rois, size, spatial_scale)


def roi_align(input, boxes, output_size, spatial_scale=1.0, sampling_ratio=-1, aligned=False):
    """RoI Align (Mask R-CNN), as ``torchvision.ops.roi_align``: each bin averages bilinear samples
    (``sampling_ratio`` per side, or ``ceil(roi_size / output_size)`` when ``<= 0``); ``aligned=True``
    shifts the box by half a pixel so that pixel centres line up. Arguments as :func:`roi_pool`.

    Shape:
        output ``(K, C, PH, PW)``.
    """
    rois = _rois(boxes, "roi_align", input._data.dtype if isinstance(input, Tensor) else np.float32)
    size = _check_roi_args("roi_align", input, rois, output_size)
    return _roi.roi_align(input, rois, size, spatial_scale, sampling_ratio, aligned)


class RoIPool(Module):
    """Module form of :func:`roi_pool` (``torchvision.ops.RoIPool``)."""

    def __init__(self, output_size, spatial_scale):
        super().__init__()
        self.output_size, self.spatial_scale = output_size, spatial_scale

    def forward(self, input, rois):
        return roi_pool(input, rois, self.output_size, self.spatial_scale)

    def extra_repr(self):
        return f"output_size={self.output_size}, spatial_scale={self.spatial_scale}"


class RoIAlign(Module):
    """Module form of :func:`roi_align` (``torchvision.ops.RoIAlign``)."""

    def __init__(self, output_size, spatial_scale, sampling_ratio, aligned=False):
        super().__init__()
        self.output_size, self.spatial_scale = output_size, spatial_scale
        self.sampling_ratio, self.aligned = sampling_ratio, aligned

    def forward(self, input, rois):
        return roi_align(input, rois, self.output_size, self.spatial_scale, self.sampling_ratio, self.aligned)

    def extra_repr(self):
        return (f"output_size={self.output_size}, spatial_scale={self.spatial_scale}, "
                f"sampling_ratio={self.sampling_ratio}, aligned={self.aligned}")
