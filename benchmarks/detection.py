"""Detection of handwritten digits on 96x96 canvases: YOLO v1, the sliding-window baseline, Fast R-CNN.

Data: ``data.multi_digit`` canvases with 1-4 MNIST digits each; training canvases from MNIST training
digits (seed 0), 1,000 held-out canvases from MNIST test digits (seed 1). Each detector is trained
once (Adam, fixed seeds), then scored with COCO's mAP (``convnet.vision.metrics``: ``map`` over IoU
0.50:0.95, ``map_50``, ``map_75``) and its detection time per image (batches of 50, after training).

Stages run separately and each writes its row to ``docs/detection_results.json`` (``--only``), so a
long stage need not be repeated; ``--report`` draws the detections PNG from the saved checkpoints.

    CONVNET_DATA=/work/shared/datasets .venv/bin/python benchmarks/detection.py            # all stages
    CONVNET_DATA=/work/shared/datasets .venv/bin/python benchmarks/detection.py --only yolo
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import convnet as cn
from convnet import data
from convnet.detection import YOLODetector, evaluate, train_yolo

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RESULTS = os.path.join(ROOT, "docs", "detection_results.json")
PICTURE = os.path.join(ROOT, "docs", "_static", "detection.png")
RUNS = os.path.join(ROOT, "runs", "detection")
CLASSES = [str(k) for k in range(10)]


def _row(name, res, train_s, **extra):
    keep = {k: res[k] for k in ("map", "map_50", "map_75", "seconds_per_image")}
    return {"detector": name, **keep, "train_seconds": round(train_s, 1), **extra}


def _save_row(row):
    rows = json.load(open(RESULTS)) if os.path.isfile(RESULTS) else {}
    rows[row["detector"]] = row
    cn.checkpoint.atomic_write(RESULTS, json.dumps(rows, indent=2) + "\n")
    print(json.dumps(row), flush=True)


def stage_yolo(args, test):
    train = data.multi_digit("train", args.yolo_canvases, seed=0)
    t0 = time.perf_counter()
    log = lambda e, loss, p: print(f"yolo epoch {e + 1}: loss {loss:.3f} "  # noqa: E731
                                   + " ".join(f"{k} {v:.3f}" for k, v in p.items())
                                   + f"  ({time.perf_counter() - t0:.0f} s)", flush=True)
    model, _ = train_yolo(train, epochs=args.yolo_epochs, batch_size=32, lr=2e-3, seed=0, log=log)
    train_s = time.perf_counter() - t0
    os.makedirs(RUNS, exist_ok=True)
    cn.save(model, os.path.join(RUNS, "yolo.safetensors"), meta={"classes": CLASSES, "canvas": 96})
    res = evaluate(YOLODetector(model, score_threshold=0.01), test)
    _save_row(_row("yolo", res, train_s, canvases=args.yolo_canvases, epochs=args.yolo_epochs))
    return res


def stage_sliding(args, test):
    from convnet.detection import sliding_window

    train = data.multi_digit("train", args.sliding_canvases, seed=0)
    t0 = time.perf_counter()
    model = sliding_window.train_classifier(train, epochs=args.sliding_epochs, seed=0,
                                            log=lambda m: print("sliding", m, flush=True))
    train_s = time.perf_counter() - t0
    cn.save(model, os.path.join(RUNS, "sliding_lenet5.safetensors"), meta={"classes": CLASSES + ["background"]})
    res = evaluate(sliding_window.SlidingWindowDetector(model), test)
    _save_row(_row("sliding_window", res, train_s, canvases=args.sliding_canvases))
    return res


def stage_frcnn(args, test):
    from convnet.detection import fast_rcnn

    train = data.multi_digit("train", args.frcnn_canvases, seed=0)
    t0 = time.perf_counter()
    model = fast_rcnn.train_fast_rcnn(train, epochs=args.frcnn_epochs, seed=0,
                                      log=lambda m: print("fast_rcnn", m, flush=True))
    train_s = time.perf_counter() - t0
    cn.save(model.state_dict(), os.path.join(RUNS, "fast_rcnn.safetensors"))
    res = evaluate(fast_rcnn.FastRCNNDetector(model), test)
    _save_row(_row("fast_rcnn", res, train_s, canvases=args.frcnn_canvases))
    return res


def picture(test, n=6):
    """The first ``n`` test canvases with YOLO's detections (score > 0.3) and the truth in white, in a row."""
    from PIL import Image

    from convnet.detection.draw import draw_detections

    model = cn.load(os.path.join(RUNS, "yolo.safetensors"))
    dets = YOLODetector(model, score_threshold=0.3)(test.images[:n])
    tiles = [draw_detections(test.images[i], dets[i], CLASSES, scale=3, truth=test.targets[i]) for i in range(n)]
    out = Image.new("RGB", (sum(t.width + 4 for t in tiles), tiles[0].height), (128, 128, 128))
    for i, t in enumerate(tiles):
        out.paste(t, (i * (t.width + 4), 0))
    os.makedirs(os.path.dirname(PICTURE), exist_ok=True)
    cn.checkpoint.atomic_write(PICTURE, lambda f: out.save(f, format="PNG"))
    print(f"wrote {PICTURE}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--only", choices=("yolo", "sliding", "frcnn", "picture"), action="append",
                   help="run only these stages (repeatable; default all)")
    p.add_argument("--test-canvases", type=int, default=1000)
    p.add_argument("--yolo-canvases", type=int, default=5000)
    p.add_argument("--yolo-epochs", type=int, default=10)
    p.add_argument("--sliding-canvases", type=int, default=2000)
    p.add_argument("--sliding-epochs", type=int, default=4)
    p.add_argument("--frcnn-canvases", type=int, default=1000)
    p.add_argument("--frcnn-epochs", type=int, default=6)
    args = p.parse_args(argv)
    stages = args.only or ["yolo", "sliding", "frcnn", "picture"]
    test = data.multi_digit("test", args.test_canvases, seed=1)
    t0 = time.perf_counter()
    for name in stages:
        {"yolo": stage_yolo, "sliding": stage_sliding, "frcnn": stage_frcnn,
         "picture": lambda a, t: picture(t)}[name](args, test)
    print(f"total wall time {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
