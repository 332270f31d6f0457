"""Detect digits in one image file with a saved detector (what ``convnet detect`` calls)."""
from __future__ import annotations

import numpy as np

from ..checkpoint import load_model
from ..data.images import read_image
from .train import YOLODetector

__all__ = ["load_detector", "read_canvas", "detect_file"]


def load_detector(path, score_threshold=0.3, iou_threshold=0.5):
    """``(detector, classes)`` from a ``yolo_v1`` checkpoint file or run directory."""
    model = load_model(path)
    name = (model.config or {}).get("name")
    if name != "yolo_v1":
        raise ValueError(f"detect: {path} holds a {name!r} model; expected a detector checkpoint (yolo_v1), e.g. "
                         "one written by benchmarks/detection.py")
    meta = getattr(model, "checkpoint_meta", None) or {}
    classes = meta.get("classes") or [str(k) for k in range(model.num_classes)]
    return YOLODetector(model, score_threshold, iou_threshold), classes


def read_canvas(path, stride=16):
    """An image file as ``(1, H, W)`` float32 light ink on black, zero-padded right/bottom to multiples of ``stride``.

    A light border means dark ink on white paper: the grey levels are inverted first.
    """
    x = read_image(path, channels=1)
    border = np.concatenate([x[0, 0], x[0, -1], x[0, :, 0], x[0, :, -1]])
    if border.mean() > 0.5:
        x = 1.0 - x
    h, w = x.shape[1:]
    ph, pw = -h % stride, -w % stride
    return np.pad(x, ((0, 0), (0, ph), (0, pw))), (h, w)


def detect_file(checkpoint, image_path, score_threshold=0.3, iou_threshold=0.5):
    """Detections in one image: ``(image (1, H, W), {"boxes", "scores", "labels"}, classes)``.

    Boxes are (x1, y1, x2, y2) pixels of the original image (clipped to it), highest score first.
    """
    detector, classes = load_detector(checkpoint, score_threshold, iou_threshold)
    x, (h, w) = read_canvas(image_path, detector.model.stride)
    det = detector(x[None])[0]
    det["boxes"] = np.clip(det["boxes"], 0, [w, h, w, h]).astype(np.float32)
    return x[:, :h, :w], det, classes
