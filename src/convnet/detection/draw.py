"""The thin drawing layer: detections as boxes, labels and scores on an image, written as a PNG."""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..checkpoint import atomic_write

COLOURS = [(230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48),
           (145, 30, 180), (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212)]


def draw_detections(image, detections, classes=None, scale=4, truth=None):
    """An RGB ``PIL.Image``: ``image`` (1 or 3, H, W) in [0, 1] enlarged ``scale`` times, one coloured box
    per detection with ``"label score"`` above it; ``truth`` boxes (``{"boxes"}``), if given, in thin white."""
    x = np.asarray(image, np.float32)
    x = np.repeat(x, 3, axis=0) if x.shape[0] == 1 else x
    pil = Image.fromarray((np.clip(x.transpose(1, 2, 0), 0, 1) * 255).astype(np.uint8))   # (C,H,W) -> (H,W,C)
    pil = pil.resize((pil.width * scale, pil.height * scale), Image.NEAREST)
    d = ImageDraw.Draw(pil)
    try:
        font = ImageFont.load_default(size=max(10, 3 * scale + 2))   # Pillow >= 10.1: a scalable font
    except TypeError:  # pragma: no cover - older Pillow
        font = ImageFont.load_default()
    if truth is not None:
        for b in np.asarray(truth["boxes"]).reshape(-1, 4):
            d.rectangle([float(v) * scale for v in b], outline=(255, 255, 255), width=1)
    for b, s, lab in zip(detections["boxes"], detections["scores"], detections["labels"]):
        colour = COLOURS[int(lab) % len(COLOURS)]
        x1, y1, x2, y2 = (float(v) * scale for v in b)
        d.rectangle([x1, y1, x2, y2], outline=colour, width=2)
        name = classes[int(lab)] if classes is not None else str(int(lab))
        top = max(0.0, y1 - getattr(font, "size", 10) - 2)    # the label sits above the box
        d.text((x1 + 2, top), f"{name} {float(s):.2f}", fill=colour, font=font)
    return pil


def save_detections(path, image, detections, classes=None, scale=4, truth=None):
    """Draw (see :func:`draw_detections`) and write a PNG atomically; returns ``path``."""
    pil = draw_detections(image, detections, classes, scale, truth)
    atomic_write(path, lambda f: pil.save(f, format="PNG"))
    return path
