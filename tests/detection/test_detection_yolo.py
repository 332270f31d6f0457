"""YOLO v1: the loss against a hand computation, target encoding/decoding, decoding of predictions, training."""
import math

import numpy as np
import pytest

import convnet as cn
from convnet import data, models
from convnet.detection import train_yolo, yolo

S, B, C, SIZE = 2, 2, 2, 32  # a 2x2 grid of 16-pixel cells, two boxes per cell, two classes


def _tiny_case():
    """Raw predictions all 0 (sigmoid 0.5, equal class probabilities) except box 1's x logit in cell (0, 1).

    Image 0 holds one object of class 1, box (20, 2, 28, 14): centre (24, 8) in cell row 0, col 1, offset
    (0.5, 0.5), size 8x12 px = (0.25, 0.375) of the image. Image 1 is empty.
    Box 0 of that cell predicts centre (24, 8), 8x8 px: (20, 4, 28, 12), IoU with the truth 64/96 = 2/3.
    Box 1 has x = sigmoid(ln 3) = 0.75: centre (28, 8), box (24, 4, 32, 12), IoU 32/128 = 1/4.
    So box 0 is responsible and its confidence target is 2/3.
    """
    raw = np.zeros((2, S, S, B * 5 + C), np.float32)
    raw[0, 0, 1, 5 + 0] = math.log(3)
    targets = [{"boxes": np.array([[20, 2, 28, 14]], np.float32), "labels": np.array([1])},
               {"boxes": np.zeros((0, 4), np.float32), "labels": np.zeros(0, np.int64)}]
    return raw, yolo.encode_targets(targets, S, SIZE)


def test_loss_matches_hand_computation():
    raw, enc = _tiny_case()
    loss, parts = yolo.yolo_loss(cn.tensor(raw), enc, B, lambda_coord=5, lambda_noobj=0.5, image_size=SIZE)
    coord = 5 * ((0.5 - 0.5) ** 2 + (0.5 - 0.5) ** 2 + (0.5 - math.sqrt(0.25)) ** 2 + (0.5 - math.sqrt(0.375)) ** 2)
    obj = (0.5 - 2 / 3) ** 2                       # confidence trained toward the IoU
    noobj = 0.5 * (7 + 8) * 0.5 ** 2               # 7 other predictors in image 0, 8 in image 1, conf 0.5
    cls = (0.5 - 0) ** 2 + (0.5 - 1) ** 2          # one object cell, class 1
    n = 2
    assert parts["coord"] == pytest.approx(coord / n, rel=1e-5)
    assert parts["obj"] == pytest.approx(obj / n, rel=1e-5)
    assert parts["noobj"] == pytest.approx(noobj / n, rel=1e-5)
    assert parts["class"] == pytest.approx(cls / n, rel=1e-5)
    assert float(loss._data) == pytest.approx((coord + obj + noobj + cls) / n, rel=1e-5)


def test_loss_gradient_holds_the_iou_target_constant():
    raw, enc = _tiny_case()
    x = cn.tensor(raw, requires_grad=True)
    loss, _ = yolo.yolo_loss(x, enc, B, image_size=SIZE)
    loss.backward()
    g = x.grad._data[0, 0, 1]
    # d/d logit of (c - 2/3)^2 / N with c = sigmoid(0) = 0.5, sigmoid' = 0.25, N = 2
    assert g[4] == pytest.approx(2 * (0.5 - 2 / 3) * 0.25 / 2, rel=1e-5)
    # box 1 is not responsible: only the noobj term, 0.5 * 2c * sigmoid' / N
    assert g[9] == pytest.approx(0.5 * 2 * 0.5 * 0.25 / 2, rel=1e-5)
    # and no coordinate gradient for it, although its IoU depends on its x
    assert g[5] == 0 and g[6] == 0
    # an empty cell: only the noobj term on both confidences, nothing else
    e = x.grad._data[1, 1, 1]
    np.testing.assert_allclose(e[[4, 9]], 0.5 * 2 * 0.5 * 0.25 / 2, rtol=1e-5)
    assert not e[[0, 1, 2, 3, 5, 6, 7, 8, 10, 11]].any()


def test_encode_decode_round_trip(fake_mnist):
    ds = data.multi_digit("train", 30, seed=0, root=fake_mnist, download=False)
    enc = yolo.encode_targets(ds.targets, 6, 96)
    back = yolo.decode_targets(enc, 96)
    checked = 0
    for t, b in zip(ds.targets, back):
        if len(b["labels"]) != len(t["labels"]):
            continue  # two centres in one cell: the smaller object is dropped (YOLO v1's limit)
        order = lambda bx: np.lexsort((bx[:, 0], bx[:, 1]))  # noqa: E731
        i, j = order(t["boxes"]), order(b["boxes"])
        np.testing.assert_allclose(b["boxes"][j], t["boxes"][i], atol=1e-4)
        np.testing.assert_array_equal(b["labels"][j], t["labels"][i])
        checked += 1
    assert checked >= 25


def test_encoding_of_one_box_by_hand():
    enc = yolo.encode_targets([{"boxes": np.array([[20, 2, 28, 14]]), "labels": np.array([1])}], S, SIZE)
    assert enc["obj"].tolist() == [[[0, 1], [0, 0]]]
    np.testing.assert_allclose(enc["xywh"][0, 0, 1], [0.5, 0.5, 0.25, 0.375])
    assert enc["labels"][0, 0, 1] == 1


def _logit(p):
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def test_decode_recovers_boxes_from_a_perfect_prediction(fake_mnist):
    ds = data.multi_digit("test", 10, seed=3, root=fake_mnist, download=False)
    enc = yolo.encode_targets(ds.targets, 6, 96)
    raw = np.full((10, 6, 6, 2 * 5 + 10), -8.0, np.float32)            # confidences ~0 everywhere
    raw[..., 0:2] = _logit(enc["xywh"][..., 0:2])
    raw[..., 2:4] = _logit(np.sqrt(enc["xywh"][..., 2:4]))
    raw[..., 4] = np.where(enc["obj"] > 0, 6.0, -8.0)                 # box 0 confident where an object is
    raw[..., 10:] += 20 * np.eye(10)[enc["labels"]]                    # class score 12 vs -8
    dets = yolo.decode(cn.tensor(raw), 2, score_threshold=0.5, image_size=96)
    truth = yolo.decode_targets(enc, 96)
    for d, t in zip(dets, truth):
        assert len(d["boxes"]) == len(t["boxes"])
        order = lambda bx: np.lexsort((bx[:, 0], bx[:, 1]))  # noqa: E731
        np.testing.assert_allclose(d["boxes"][order(d["boxes"])], t["boxes"][order(t["boxes"])], atol=1e-3)
        np.testing.assert_array_equal(d["labels"][order(d["boxes"])], t["labels"][order(t["boxes"])])
        np.testing.assert_allclose(d["scores"], 1 / (1 + np.exp(-6.0)), rtol=1e-4)


def test_a_few_training_steps_reduce_the_loss(fake_mnist):
    ds = data.multi_digit("train", 16, seed=0, root=fake_mnist, download=False)
    losses = []
    train_yolo(ds, epochs=25, batch_size=16, lr=3e-3, width=4, log=lambda e, loss, p: losses.append(loss))
    assert losses[-1] < 0.6 * losses[0], losses


def test_model_shape_and_registry():
    m = models.get("yolo_v1", width=4)
    assert m.config["name"] == "yolo_v1" and tuple(m(cn.randn(1, 1, 64, 96)).shape) == (1, 4, 6, 20)
    with pytest.raises(ValueError, match="multiples of 16"):
        m(cn.randn(1, 1, 50, 96))
