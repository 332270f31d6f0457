"""Detection quality: COCO mean average precision (the numbers pycocotools' ``COCOeval`` gives for
bounding boxes) and Pascal VOC's AP@0.5.

The story of COCO mAP, for one class and one IoU threshold ``t``:

1. in each image, visit the (at most 100) detections by decreasing score; each takes the unmatched
   ground-truth box it overlaps most, if that IoU is at least ``t`` (a true positive), else it is a
   false positive;
2. pool all images' detections, sort by score, and walk down the list: precision and recall after
   each detection give the precision-recall curve;
3. make precision non-increasing in recall (the envelope) and read it at the 101 recalls
   0, 0.01, ..., 1 (0 past the last recall reached): the mean is the AP.

``map`` averages the AP over ``t = 0.50, 0.55, ..., 0.95`` and over the classes that have ground
truth (a class without ground truth has AP -1 and is left out, as in COCOeval); ``map_50`` and
``map_75`` use one threshold. COCO's settings are followed: area range "all", ``maxDets = 100``, no
crowd annotations.

VOC (2010+) AP@0.5 differs in two ways: a detection is matched to the ground truth of highest IoU
even when that one is taken (then it is a false positive), and the AP is the exact area under the
precision envelope (all points) rather than 101 samples of it.
"""
from __future__ import annotations

import numpy as np

__all__ = ["mean_average_precision", "COCO_IOU_THRESHOLDS"]

COCO_IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)  # the same floats as pycocotools' Params.iouThrs
_RECALLS = np.linspace(0.0, 1.0, 101)              # Params.recThrs
_MAX_DETS = 100


def _arr(v, dtype=None):
    v = getattr(v, "_data", v)
    if hasattr(v, "detach"):  # a torch tensor
        v = v.detach().cpu().numpy()
    return np.asarray(v, dtype=dtype)


def _image(d, i, what, keys):
    if not isinstance(d, dict) or any(k not in d for k in keys):
        raise ValueError(f"mean_average_precision: {what}[{i}] must be a dict with keys {keys}, "
                         f"received {sorted(d) if isinstance(d, dict) else type(d).__name__}")
    boxes = _arr(d["boxes"], np.float64).reshape(-1, 4) if np.size(_arr(d["boxes"])) else np.zeros((0, 4))
    out = {"boxes": boxes, "labels": _arr(d["labels"]).reshape(-1).astype(np.int64)}
    if "scores" in keys:
        out["scores"] = _arr(d["scores"], np.float64).reshape(-1)
    for k, v in out.items():
        if len(v) != len(boxes):
            raise ValueError(f"mean_average_precision: {what}[{i}] has {len(boxes)} boxes but {len(v)} {k}")
    return out


def _iou(a, b):
    """Pairwise IoU of (N, 4) and (M, 4) xyxy boxes (areas without the +1 of old VOC code)."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])  # noqa: E731
    union = area(a)[:, None] + area(b)[None, :] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, inter / union, 0.0)


def _coco_match(ious, thresholds):
    """COCOeval.evaluateImg for one image and class: ``(T, D)`` bool, detection ``d`` (already in
    score order) is a true positive at threshold ``t``. Each detection takes, among the ground truths
    not yet taken, the one of highest IoU ``>= min(t, 1 - 1e-10)`` (the last one on a tie, as
    pycocotools' loop does); all thresholds at once."""
    (D, G), T = ious.shape, len(thresholds)
    tp = np.zeros((T, D), bool)
    if G == 0:
        return tp
    taken = np.zeros((T, G), bool)
    floor = np.minimum(thresholds, 1 - 1e-10)[:, None]                     # (T, 1)
    for d in range(D):
        ok = ~taken & (ious[d][None, :] >= floor)                          # (T, G) candidates
        score = np.where(ok, ious[d][None, :], -1.0)
        m = G - 1 - np.argmax(score[:, ::-1], axis=1)                      # (T,) last best
        hit = ok.any(axis=1)
        taken[np.nonzero(hit)[0], m[hit]] = True
        tp[:, d] = hit
    return tp


def _coco_ap(scores, tp, num_gt):
    """101-point interpolated AP per threshold from the pooled detections (``tp`` ``(T, D)``)."""
    order = np.argsort(-scores, kind="mergesort")
    tp = tp[:, order]
    tps, fps = np.cumsum(tp, axis=1).astype(float), np.cumsum(~tp, axis=1).astype(float)
    ap = np.zeros(tp.shape[0])
    for t in range(tp.shape[0]):
        rc = tps[t] / num_gt
        pr = tps[t] / (fps[t] + tps[t] + np.spacing(1))
        pr = np.maximum.accumulate(pr[::-1])[::-1]                           # the precision envelope
        idx = np.searchsorted(rc, _RECALLS, side="left")
        q = np.where(idx < len(pr), pr[np.minimum(idx, len(pr) - 1)] if len(pr) else 0.0, 0.0)
        ap[t] = q.mean()
    return ap


def _voc_ap(dets, gts):
    """VOC 2010+ AP@0.5 of one class: ``dets`` list of (image, score, box), ``gts`` {image: (G, 4)}."""
    num_gt = sum(len(g) for g in gts.values())
    dets = sorted(dets, key=lambda d: -d[1])
    taken = {i: np.zeros(len(g), bool) for i, g in gts.items()}
    tp = np.zeros(len(dets), bool)
    for j, (i, _, box) in enumerate(dets):
        g = gts.get(i, np.zeros((0, 4)))
        if len(g):
            ious = _iou(box[None], g)[0]
            m = int(np.argmax(ious))
            if ious[m] >= 0.5 and not taken[i][m]:
                taken[i][m], tp[j] = True, True
    tps, fps = np.cumsum(tp), np.cumsum(~tp)
    rec = np.concatenate([[0.0], tps / num_gt, [1.0]])
    prec = np.concatenate([[0.0], tps / np.maximum(tps + fps, np.finfo(float).eps), [0.0]])
    prec = np.maximum.accumulate(prec[::-1])[::-1]
    i = np.nonzero(rec[1:] != rec[:-1])[0]
    return float(np.sum((rec[i + 1] - rec[i]) * prec[i + 1]))


def mean_average_precision(preds, targets, iou_thresholds=None):
    """COCO mAP of bounding-box detections (the numbers of pycocotools' ``COCOeval``), and VOC AP@0.5.

    Args:
        preds: one dict per image: ``"boxes"`` ``(K, 4)`` as ``(x1, y1, x2, y2)``, ``"scores"``
            ``(K,)`` and ``"labels"`` ``(K,)`` (ints). Tensors or arrays.
        targets: one dict per image (same order): ``"boxes"`` ``(G, 4)`` and ``"labels"`` ``(G,)``.
        iou_thresholds: the IoU thresholds ``map`` averages over (default COCO's 0.50:0.05:0.95).

    Returns:
        dict of floats: ``map``, ``map_50``, ``map_75``, ``map_voc`` (VOC AP@0.5, mean over classes),
        ``map_per_class`` and ``ap_voc_per_class`` (``{label: AP}``, -1 for a class with no ground
        truth), ``classes`` (sorted labels seen in preds or targets). A mean over no class is -1.

    Example:
        >>> t = [{"boxes": [[0, 0, 10, 10]], "labels": [1]}]
        >>> p = [{"boxes": [[0, 0, 10, 10]], "scores": [0.9], "labels": [1]}]
        >>> round(mean_average_precision(p, t)["map"], 6)
        1.0
    """
    if len(preds) != len(targets):
        raise ValueError(f"mean_average_precision: preds and targets must have one entry per image, received "
                         f"{len(preds)} preds and {len(targets)} targets")
    preds = [_image(p, i, "preds", ("boxes", "scores", "labels")) for i, p in enumerate(preds)]
    targets = [_image(t, i, "targets", ("boxes", "labels")) for i, t in enumerate(targets)]
    main = COCO_IOU_THRESHOLDS if iou_thresholds is None else np.asarray(iou_thresholds, float).reshape(-1)
    thresholds = np.concatenate([main, COCO_IOU_THRESHOLDS[[0, 5]]])         # + 0.50 and 0.75
    classes = sorted(set(np.concatenate([x["labels"] for x in preds + targets] + [np.zeros(0, np.int64)]).tolist()))
    ap = {}
    voc = {}
    for c in classes:
        scores, tps, num_gt, voc_dets, voc_gts = [], [], 0, [], {}
        for i, (p, t) in enumerate(zip(preds, targets)):
            gt = t["boxes"][t["labels"] == c]
            keep = p["labels"] == c
            order = np.argsort(-p["scores"][keep], kind="mergesort")[:_MAX_DETS]
            dt, s = p["boxes"][keep][order], p["scores"][keep][order]
            num_gt += len(gt)
            voc_gts[i] = gt
            voc_dets += [(i, float(sc), b) for sc, b in zip(p["scores"][keep], p["boxes"][keep])]
            if len(dt):
                scores.append(s)
                tps.append(_coco_match(_iou(dt, gt) if len(gt) else np.zeros((len(dt), 0)), thresholds))
        if num_gt == 0:
            ap[c], voc[c] = np.full(len(thresholds), -1.0), -1.0
            continue
        if scores:
            ap[c] = _coco_ap(np.concatenate(scores), np.concatenate(tps, axis=1), num_gt)
        else:
            ap[c] = np.zeros(len(thresholds))
        voc[c] = _voc_ap(voc_dets, voc_gts)

    def mean(values):
        values = [v for v in values if v > -1]
        return float(np.mean(values)) if values else -1.0

    n = len(main)
    return {"map": mean([a for c in classes for a in ap[c][:n]]),
            "map_50": mean([ap[c][n] for c in classes]),
            "map_75": mean([ap[c][n + 1] for c in classes]),
            "map_voc": mean([voc[c] for c in classes]),
            "map_per_class": {c: mean(ap[c][:n]) for c in classes},
            "ap_voc_per_class": voc,
            "classes": classes}
