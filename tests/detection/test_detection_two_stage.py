"""The sliding-window baseline and Fast R-CNN in miniature: crops, windows, proposals, deltas, training."""
import numpy as np
import torch

from convnet import data
from convnet.detection import fast_rcnn, sliding_window


def test_crop_resize_matches_torch_grid_sample(rng):
    image = rng.random((40, 50)).astype(np.float32)
    boxes = np.array([[3.0, 5.0, 25.0, 33.0], [-6.0, -4.0, 12.0, 10.0], [30.5, 20.25, 55.0, 44.0]], np.float32)
    ours = sliding_window.crop_resize(image, boxes, size=16)
    t = (np.arange(16) + 0.5) / 16
    xs = boxes[:, 0:1] + t * (boxes[:, 2:3] - boxes[:, 0:1]) - 0.5     # pixel-index coordinates of the samples
    ys = boxes[:, 1:2] + t * (boxes[:, 3:4] - boxes[:, 1:2]) - 0.5
    u, v = (2 * xs + 1) / 50 - 1, (2 * ys + 1) / 40 - 1                 # grid_sample, align_corners=False
    grid = np.stack(np.broadcast_arrays(u[:, None, :], v[:, :, None]), axis=-1)   # (K, 16, 16, 2) as (x, y)
    ref = torch.nn.functional.grid_sample(torch.tensor(image)[None, None].expand(3, 1, 40, 50),
                                          torch.tensor(grid, dtype=torch.float32), mode="bilinear",
                                          padding_mode="zeros", align_corners=False)[:, 0].numpy()
    np.testing.assert_allclose(ours, ref, atol=1e-5)


def test_window_boxes_cover_the_image_at_the_stride():
    b = sliding_window.window_boxes(20, 30, stride=5, windows=[(10, 10), (20, 8)])
    assert len(b) == 3 * 5 + 1 * 5      # (20-10)/5+1 rows x (30-10)/5+1 cols, then 1 row x floor(22/5)+1 cols
    assert (b[:, 2] <= 30).all() and (b[:, 3] <= 20).all() and (b >= 0).all()
    np.testing.assert_array_equal(b[0], [0, 0, 10, 10])
    np.testing.assert_array_equal(b[-1], [20, 0, 28, 20])


def test_proposals_find_each_blob_and_their_union():
    img = np.zeros((64, 64), np.float32)
    img[10:20, 5:12] = 1.0      # component A: box (5, 10, 12, 20)
    img[22:30, 6:14] = 1.0      # component B, 2 px below A: box (6, 22, 14, 30)
    img[50:60, 50:58] = 0.9     # far away component C
    p = {tuple(b) for b in fast_rcnn.proposals(img).tolist()}
    assert {(5, 10, 12, 20), (6, 22, 14, 30), (50, 50, 58, 60), (5, 10, 14, 30)} <= p
    assert (5, 10, 58, 60) not in p            # a union larger than a digit is not proposed


def test_deltas_by_hand_and_round_trip(rng):
    prop = np.array([[10, 10, 30, 20]], np.float32)     # centre (20, 15), 20 x 10
    gt = np.array([[12, 10, 32, 30]], np.float32)       # centre (22, 20), 20 x 20
    want = np.array([[2 / 20 / 0.1, 5 / 10 / 0.1, np.log(1) / 0.2, np.log(2) / 0.2]])
    np.testing.assert_allclose(fast_rcnn.encode_deltas(prop, gt), want, rtol=1e-6)
    p = rng.uniform(0, 50, (20, 2)).astype(np.float32)
    props = np.concatenate([p, p + rng.uniform(5, 30, (20, 2))], 1).astype(np.float32)
    g = np.concatenate([p + 3, p + rng.uniform(8, 30, (20, 2))], 1).astype(np.float32)
    np.testing.assert_allclose(fast_rcnn.decode_deltas(props, fast_rcnn.encode_deltas(props, g)), g, atol=1e-4)


def test_detectors_train_and_return_detections(fake_mnist):
    ds = data.multi_digit("train", 16, seed=0, root=fake_mnist, download=False)
    logs = []
    model = fast_rcnn.train_fast_rcnn(ds, epochs=3, seed=0, log=logs.append)
    first, last = (float(m.split()[-1]) for m in (logs[0], logs[-1]))
    assert last < first, logs
    dets = fast_rcnn.FastRCNNDetector(model)(ds.images[:3])
    assert len(dets) == 3 and all(d["boxes"].shape[1] == 4 and (d["labels"] < 10).all() for d in dets)
    clf = sliding_window.train_classifier(ds, epochs=1, seed=0)
    dets = sliding_window.SlidingWindowDetector(clf, stride=12)(ds.images[:2])
    assert len(dets) == 2 and all(len(d["scores"]) == len(d["boxes"]) for d in dets)
    assert all((np.diff(d["scores"]) <= 0).all() for d in dets)   # highest score first


def test_proposals_of_empty_and_one_pixel_images():
    img = np.zeros((32, 32), np.float32)
    assert fast_rcnn.proposals(img).shape == (0, 4)
    img[4, 4] = 1.0      # the pixel itself is below the 4-pixel minimum area; thickened it is 3x3
    np.testing.assert_array_equal(fast_rcnn.proposals(img), [[3, 3, 6, 6]])
