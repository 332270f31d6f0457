"""convnet detect: a hand-set model's answer, a briefly trained model's picture, and bad input."""
import math

import numpy as np
import pytest
from PIL import Image

import convnet as cn
from convnet import data, models
from convnet.cli.main import main
from convnet.detection import train_yolo


def _hand_set_model():
    """Every conv weight 0, so each cell outputs the head biases: one box per cell, centred in the cell,
    0.1 x 0.2 of the image, confidence sigmoid(2), class 3 with softmax probability e^10 / (e^10 + 9)."""
    m = models.get("yolo_v1", boxes_per_cell=1, width=4)
    for name, p in m.named_parameters():
        p._data[...] = 0.0
    logit = lambda q: math.log(q / (1 - q))  # noqa: E731
    m.box_head.bias._data[:] = [0.0, 0.0, logit(math.sqrt(0.1)), logit(math.sqrt(0.2)), 2.0]
    m.class_head.bias._data[3] = 10.0
    m.eval()
    return m


def _canvas(path, size=(96, 96)):
    x = np.zeros(size, np.uint8)
    x[30:60, 40:55] = 255
    Image.fromarray(x).save(path)
    return str(path)


def test_detect_prints_the_hand_set_boxes_and_draws_them(tmp_path, capsys):
    cn.save(str(tmp_path / "run"), _hand_set_model(), meta={"classes": [str(k) for k in range(10)]})
    out = tmp_path / "boxes.png"
    assert main(["detect", str(tmp_path / "run"), _canvas(tmp_path / "c.png"), "-o", str(out)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1] == f"36 detection(s); wrote {out}"
    score = 1 / (1 + math.exp(-2)) * math.exp(10) / (math.exp(10) + 9)
    got = sorted(tuple(float(v) for v in ln.split()[2:]) for ln in lines[:-1])
    want = sorted((c * 16 + 8 - 4.8, max(0, r * 16 + 8 - 9.6), c * 16 + 8 + 4.8, min(96, r * 16 + 8 + 9.6))
                  for r in range(6) for c in range(6))     # clipped to the image
    np.testing.assert_allclose(got, np.round(want, 1), atol=0.051)
    assert all(ln.split()[0] == "3" and float(ln.split()[1]) == pytest.approx(score, abs=5e-4) for ln in lines[:-1])
    img = np.asarray(Image.open(out).convert("RGB"))
    assert img.shape == (96 * 4, 96 * 4, 3)
    # the outline of cell (0, 0)'s box in class 3's colour: left edge at x = 3.2 * 4, rows 0..17.6 * 4
    assert tuple(img[40, round(3.2 * 4)]) == (0, 130, 200)


def test_detect_with_a_briefly_trained_model_and_an_odd_sized_white_image(tmp_path, capsys, fake_mnist):
    ds = data.multi_digit("train", 8, seed=0, root=fake_mnist, download=False)
    model, _ = train_yolo(ds, epochs=2, batch_size=8, width=4)
    cn.save(model, str(tmp_path / "yolo.safetensors"))
    x = np.full((90, 100), 255, np.uint8)     # dark ink on white paper, not a multiple of 16
    x[20:50, 30:45] = 0
    Image.fromarray(x).save(tmp_path / "w.png")
    assert main(["detect", str(tmp_path / "yolo.safetensors"), str(tmp_path / "w.png"),
                 "--score-threshold", "0"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].endswith("wrote " + str(tmp_path / "w_boxes.png"))
    boxes = np.array([[float(v) for v in ln.split()[2:]] for ln in lines[:-1]])
    assert len(boxes) > 0 and (boxes[:, [0, 2]] <= 100).all() and (boxes[:, [1, 3]] <= 90).all() and (boxes >= 0).all()
    assert Image.open(tmp_path / "w_boxes.png").size == (400, 360)


def test_detect_rejects_a_classifier_checkpoint_in_one_line(tmp_path, capsys):
    cn.save(str(tmp_path / "run"), models.get("lenet5"))
    assert main(["detect", str(tmp_path / "run"), _canvas(tmp_path / "c.png")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("convnet detect: error:") and "yolo_v1" in err[0]
