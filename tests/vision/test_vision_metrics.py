"""mean_average_precision against pycocotools' COCOeval (the definition of COCO mAP) and against a
loop reference of the VOC devkit's AP."""
import contextlib
import io

import numpy as np
import pytest

from convnet.vision.metrics import mean_average_precision

from pycocotools.coco import COCO  # test-only oracle (pyproject's test extra)
from pycocotools.cocoeval import COCOeval


def make_scene(rng, n_images=8, n_classes=4):
    """Random targets and noisy detections: jittered copies (crowded overlaps), false alarms, an image
    without detections, an image without targets, and class ``n_classes`` that has no target."""
    preds, targets = [], []
    for i in range(n_images):
        g = rng.integers(0, 6) if i != 1 else 0
        xy = rng.uniform(0, 80, (g, 2))
        gt = np.concatenate([xy, xy + rng.uniform(5, 30, (g, 2))], 1)
        gl = rng.integers(0, n_classes, g)
        dets, labels = [], []
        for box, lab in zip(gt, gl):
            for _ in range(rng.integers(0, 4)):  # several detections of one object
                dets.append(box + rng.normal(0, 3, 4))
                labels.append(lab if rng.uniform() < 0.8 else rng.integers(0, n_classes + 1))
        for _ in range(rng.integers(0, 4)):
            xy = rng.uniform(0, 80, 2)
            dets.append(np.concatenate([xy, xy + rng.uniform(5, 30, 2)]))
            labels.append(rng.integers(0, n_classes + 1))
        if i == 0:
            dets, labels = [], []
        d = np.array(dets, float).reshape(-1, 4)
        d[:, 2:] = np.maximum(d[:, 2:], d[:, :2] + 0.5)
        preds.append({"boxes": d, "scores": rng.uniform(0, 1, len(d)), "labels": np.array(labels, int)})
        targets.append({"boxes": gt, "labels": gl})
    return preds, targets


def coco_eval(preds, targets):
    classes = sorted(set(np.concatenate([t["labels"] for t in targets] + [p["labels"] for p in preds]).tolist()))
    images, anns, dets = [], [], []
    for i, (p, t) in enumerate(zip(preds, targets)):
        images.append({"id": i + 1, "width": 200, "height": 200})
        for b, lab in zip(t["boxes"], t["labels"]):
            w, h = b[2] - b[0], b[3] - b[1]
            anns.append({"id": len(anns) + 1, "image_id": i + 1, "category_id": int(lab), "iscrowd": 0,
                         "area": float(w * h), "bbox": [float(b[0]), float(b[1]), float(w), float(h)]})
        for b, s, lab in zip(p["boxes"], p["scores"], p["labels"]):
            dets.append({"image_id": i + 1, "category_id": int(lab), "score": float(s),
                         "bbox": [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])]})
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = {"images": images, "annotations": anns, "categories": [{"id": c} for c in classes]}
        gt.createIndex()
        dt = gt.loadRes(dets)
        ev = COCOeval(gt, dt, "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    prec = ev.eval["precision"][:, :, :, 0, 2]  # (T, R, K) at area "all", maxDets 100
    per_class = {}
    for k, c in enumerate(classes):
        v = prec[:, :, k]
        per_class[c] = float(v[v > -1].mean()) if (v > -1).any() else -1.0
    return ev.stats, prec, per_class


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_coco_map_equals_pycocotools(seed):
    rng = np.random.default_rng(seed)
    preds, targets = make_scene(rng)
    stats, prec, per_class = coco_eval(preds, targets)
    ours = mean_average_precision(preds, targets)
    assert ours["map"] == pytest.approx(stats[0], abs=1e-6)
    assert ours["map_50"] == pytest.approx(stats[1], abs=1e-6)
    assert ours["map_75"] == pytest.approx(stats[2], abs=1e-6)
    assert ours["map_per_class"] == pytest.approx(per_class, abs=1e-6)
    assert ours["map_per_class"][4] == -1.0  # a class with detections but no target
    assert 0 < ours["map"] < ours["map_50"] < 1


def test_many_detections_per_image_are_cut_at_100():
    rng = np.random.default_rng(5)
    xy = rng.uniform(0, 80, (30, 2))
    gt = np.concatenate([xy, xy + 20], 1)
    d = np.repeat(gt, 8, axis=0) + rng.normal(0, 2, (240, 4))
    preds = [{"boxes": d, "scores": rng.uniform(0, 1, 240), "labels": np.zeros(240, int)}]
    targets = [{"boxes": gt, "labels": np.zeros(30, int)}]
    stats, _, _ = coco_eval(preds, targets)
    ours = mean_average_precision(preds, targets)
    assert ours["map"] == pytest.approx(stats[0], abs=1e-6)
    assert ours["map_50"] == pytest.approx(stats[1], abs=1e-6)


def voc_ap_ref(preds, targets, c):
    """The VOC devkit (2010+) AP of class c, written as its loop code reads."""
    dets = [(i, s, b) for i, p in enumerate(preds)
            for b, s, lab in zip(p["boxes"], p["scores"], p["labels"]) if lab == c]
    dets.sort(key=lambda d: -d[1])
    gts = {i: t["boxes"][t["labels"] == c] for i, t in enumerate(targets)}
    used = {i: [False] * len(g) for i, g in gts.items()}
    npos = sum(len(g) for g in gts.values())
    tp, fp = [], []
    for i, _, bb in dets:
        ovmax, jmax = -np.inf, -1
        for j, g in enumerate(gts[i]):
            iw = min(bb[2], g[2]) - max(bb[0], g[0])
            ih = min(bb[3], g[3]) - max(bb[1], g[1])
            if iw > 0 and ih > 0:
                inter = iw * ih
                ov = inter / ((bb[2] - bb[0]) * (bb[3] - bb[1]) + (g[2] - g[0]) * (g[3] - g[1]) - inter)
                if ov > ovmax:
                    ovmax, jmax = ov, j
        hit = ovmax >= 0.5 and not used[i][jmax]
        if hit:
            used[i][jmax] = True
        tp.append(float(hit))
        fp.append(float(not hit))
    tp, fp = np.cumsum(tp), np.cumsum(fp)
    rec, prec = tp / npos, tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
    mrec, mpre = np.concatenate(([0.0], rec, [1.0])), np.concatenate(([0.0], prec, [0.0]))
    for k in range(len(mpre) - 1, 0, -1):
        mpre[k - 1] = max(mpre[k - 1], mpre[k])
    idx = np.where(mrec[1:] != mrec[:-1])[0]
    return np.sum((mrec[idx + 1] - mrec[idx]) * mpre[idx + 1])


def test_voc_ap_matches_devkit_loop():
    preds, targets = make_scene(np.random.default_rng(3))
    ours = mean_average_precision(preds, targets)
    for c in range(4):
        assert ours["ap_voc_per_class"][c] == pytest.approx(voc_ap_ref(preds, targets, c), abs=1e-12)
    assert ours["map_voc"] == pytest.approx(np.mean([voc_ap_ref(preds, targets, c) for c in range(4)]))


def test_perfect_and_empty_and_errors():
    t = [{"boxes": [[0, 0, 10, 10]], "labels": [1]}, {"boxes": np.zeros((0, 4)), "labels": []}]
    p = [{"boxes": [[0, 0, 10, 10]], "scores": [0.9], "labels": [1]},
         {"boxes": np.zeros((0, 4)), "scores": [], "labels": []}]
    r = mean_average_precision(p, t)
    assert [r["map"], r["map_50"], r["map_75"], r["map_voc"]] == pytest.approx([1.0] * 4, abs=1e-12)
    assert mean_average_precision(p, t, iou_thresholds=[0.5])["map"] == pytest.approx(1.0, abs=1e-12)
    with pytest.raises(ValueError, match="one entry per image"):
        mean_average_precision(p, t[:1])
    with pytest.raises(ValueError, match="scores"):
        mean_average_precision([{"boxes": [[0, 0, 1, 1]], "labels": [1]}], t[:1])


def test_equal_iou_tie_goes_to_the_last_ground_truth_as_pycocotools():
    # d1 overlaps both ground truths with IoU 0.6; pycocotools gives it the last one, so d2 (which only
    # overlaps that one) becomes a false positive
    targets = [{"boxes": np.array([[0, 0, 10, 10], [5, 0, 15, 10]], float), "labels": np.array([1, 1])}]
    preds = [{"boxes": np.array([[2.5, 0, 12.5, 10], [6, 0, 16, 10]], float), "scores": np.array([0.9, 0.8]),
              "labels": np.array([1, 1])}]
    stats, _, _ = coco_eval(preds, targets)
    ours = mean_average_precision(preds, targets)
    assert ours["map_50"] == pytest.approx(stats[1], abs=1e-6)
    assert ours["map_50"] == pytest.approx(51 / 101, abs=1e-6)  # recall reaches only 0.5
