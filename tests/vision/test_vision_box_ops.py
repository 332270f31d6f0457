"""Box arithmetic and NMS against loop references written from the definitions (torchvision's)."""
import numpy as np
import pytest

import convnet as cn
from convnet.vision import ops
from helpers import assert_same, gradcheck


def random_boxes(rng, n, size=50.0):
    xy = rng.uniform(0, size, (n, 2))
    return np.concatenate([xy, xy + rng.uniform(1, size / 2, (n, 2))], 1)


def iou_ref(a, b, generalized=False):
    out = np.zeros((len(a), len(b)))
    for i, (ax1, ay1, ax2, ay2) in enumerate(a):
        for j, (bx1, by1, bx2, by2) in enumerate(b):
            iw, ih = max(0.0, min(ax2, bx2) - max(ax1, bx1)), max(0.0, min(ay2, by2) - max(ay1, by1))
            inter = iw * ih
            union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter
            out[i, j] = inter / union
            if generalized:
                hull = (max(ax2, bx2) - min(ax1, bx1)) * (max(ay2, by2) - min(ay1, by1))
                out[i, j] -= (hull - union) / hull
    return out


def nms_ref(boxes, scores, thr):
    """The definition: by decreasing score, keep a box unless a kept box overlaps it with IoU > thr."""
    keep = []
    for i in sorted(range(len(boxes)), key=lambda i: (-scores[i], i)):
        if all(iou_ref(boxes[i:i + 1], boxes[k:k + 1])[0, 0] <= thr for k in keep):
            keep.append(i)
    return np.array(keep, np.int64)


def test_box_area_and_convert(rng):
    b = random_boxes(rng, 6)
    assert_same(ops.box_area(cn.tensor(b)), cn.tensor((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])))
    xywh = np.stack([b[:, 0], b[:, 1], b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]], 1)
    cxcywh = np.stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2, b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]], 1)
    forms = {"xyxy": b, "xywh": xywh, "cxcywh": cxcywh}
    for fin, a in forms.items():
        for fout, want in forms.items():
            np.testing.assert_allclose(ops.box_convert(cn.tensor(a), fin, fout).numpy(), want, atol=1e-12)
    with pytest.raises(ValueError, match="in_fmt"):
        ops.box_convert(cn.tensor(b), "xy", "xyxy")
    with pytest.raises(ValueError, match=r"\(N, 4\)"):
        ops.box_area(cn.tensor(b[:, :3]))


@pytest.mark.parametrize("generalized", [False, True])
def test_box_iou_matches_definition(rng, generalized):
    a, b = random_boxes(rng, 7), random_boxes(rng, 5)
    b[0] = a[0]                                  # identical: IoU 1
    b[1] = [200, 200, 210, 210]                  # disjoint: IoU 0, GIoU < 0
    fn = ops.generalized_box_iou if generalized else ops.box_iou
    got = fn(cn.tensor(a), cn.tensor(b)).numpy()
    np.testing.assert_allclose(got, iou_ref(a, b, generalized), atol=1e-12)
    assert got[0, 0] == pytest.approx(1.0)


def test_giou_gradcheck(rng):
    a, b = random_boxes(rng, 4), random_boxes(rng, 3)
    gradcheck(ops.generalized_box_iou, [a, b])
    gradcheck(ops.box_iou, [a, b])


def test_nms_matches_definition(rng):
    for trial in range(5):
        b = random_boxes(rng, 60, size=30.0)
        s = rng.uniform(0, 1, 60)
        for thr in (0.0, 0.3, 0.5, 0.9):
            assert_same(ops.nms(cn.tensor(b), cn.tensor(s), thr), cn.tensor(nms_ref(b, s, thr)))


def test_nms_threshold_boundary_and_order():
    # two boxes with IoU exactly 0.5: suppressed only when IoU > threshold (torchvision), so kept at 0.5
    b = cn.tensor([[0.0, 0.0, 3.0, 1.0], [1.0, 0.0, 4.0, 1.0], [10.0, 10.0, 11.0, 11.0]])
    assert ops.box_iou(b[:1], b[1:2]).item() == 0.5
    assert ops.nms(b, cn.tensor([0.2, 0.9, 0.5]), 0.5).tolist() == [1, 2, 0]
    assert ops.nms(b, cn.tensor([0.2, 0.9, 0.5]), 0.49).tolist() == [1, 2]
    assert ops.nms(b, cn.tensor([0.2, 0.9, 0.5]), 0.5).dtype == cn.int64
    assert ops.nms(cn.zeros((0, 4)), cn.zeros(0), 0.5).tolist() == []


def test_batched_nms(rng):
    b = random_boxes(rng, 80, size=30.0)
    s = rng.uniform(0, 1, 80)
    c = rng.integers(0, 3, 80)
    want = np.concatenate([np.nonzero(c == k)[0][nms_ref(b[c == k], s[c == k], 0.4)] for k in range(3)])
    want = want[np.argsort(-s[want])]
    assert_same(ops.batched_nms(cn.tensor(b), cn.tensor(s), cn.tensor(c), 0.4), cn.tensor(want))
    # identical boxes in different classes do not suppress each other
    same = cn.tensor([[0.0, 0, 5, 5], [0.0, 0, 5, 5]])
    assert ops.batched_nms(same, cn.tensor([0.9, 0.8]), cn.tensor([0, 1]), 0.5).tolist() == [0, 1]
    assert ops.batched_nms(same, cn.tensor([0.9, 0.8]), cn.tensor([1, 1]), 0.5).tolist() == [0]


def test_clip_and_remove_small():
    b = cn.tensor([[-3.0, 2.0, 12.0, 5.0], [1.0, 1.0, 1.5, 9.0]])
    assert ops.clip_boxes_to_image(b, (8, 10)).tolist() == [[0.0, 2.0, 10.0, 5.0], [1.0, 1.0, 1.5, 8.0]]
    assert ops.remove_small_boxes(b, 1.0).tolist() == [0]
