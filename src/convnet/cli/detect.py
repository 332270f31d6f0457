"""``convnet detect RUN canvas.png -o boxes.png``: find digits in an image and draw them.

A thin shell over :func:`convnet.detection.detect.detect_file` (detections) and
:func:`convnet.detection.draw.save_detections` (the picture): prints one line per detection and the
file written.
"""
from __future__ import annotations

import argparse
import os


def add_parser(sub):
    p = sub.add_parser(
        "detect", help="find digits in an image with a trained detector; draw boxes, labels and scores",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run a trained YOLO detector (a yolo_v1 checkpoint or run directory, e.g. from\n"
                    "benchmarks/detection.py) on an image of handwritten digits (light ink on black, or dark\n"
                    "ink on white: inverted automatically), print one line per detection\n"
                    "(label, score, x1 y1 x2 y2 in pixels) and draw them into a PNG.",
        epilog="example:\n  convnet detect runs/yolo canvas.png -o boxes.png --score-threshold 0.3")
    p.add_argument("checkpoint", metavar="RUN", help="run directory or .safetensors yolo_v1 checkpoint")
    p.add_argument("image", metavar="IMAGE", help="image file (PNG, JPEG, ...)")
    p.add_argument("-o", "--output", metavar="OUT", help="PNG to draw into (default IMAGE_boxes.png)")
    p.add_argument("--score-threshold", type=float, default=0.3,
                   help="keep detections scoring above this (default 0.3)")
    p.add_argument("--iou-threshold", type=float, default=0.5, help="NMS IoU threshold (default 0.5)")
    p.add_argument("--scale", type=int, default=4, help="enlargement of the drawing (default 4)")
    p.set_defaults(func=run_detect)
    return p


def run_detect(args):
    from ..detection.detect import detect_file
    from ..detection.draw import save_detections

    if not 0 <= args.score_threshold <= 1 or not 0 <= args.iou_threshold <= 1:
        raise ValueError(f"--score-threshold and --iou-threshold must be in [0, 1], received "
                         f"{args.score_threshold} and {args.iou_threshold}")
    if args.scale < 1:
        raise ValueError(f"--scale must be a positive integer, received {args.scale}")
    image, det, classes = detect_file(args.checkpoint, args.image, args.score_threshold, args.iou_threshold)
    for b, s, lab in zip(det["boxes"], det["scores"], det["labels"]):
        print(f"{classes[int(lab)]} {float(s):.3f} {b[0]:.1f} {b[1]:.1f} {b[2]:.1f} {b[3]:.1f}")
    out = args.output or os.path.splitext(args.image)[0] + "_boxes.png"
    save_detections(out, image, det, classes, scale=args.scale)
    print(f"{len(det['boxes'])} detection(s); wrote {out}")
    return 0
