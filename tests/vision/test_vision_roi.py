"""roi_pool / roi_align against the loop references of torchvision's kernels, and their backward
against float64 finite differences."""
import numpy as np
import pytest

import convnet as cn
from convnet.vision import ops
from helpers import assert_same, gradcheck
from vision_roi_ref import roi_align_ref, roi_pool_ref


def _rois(rng, n_images, k, size, scale):
    """Random boxes in image coordinates, some spilling over the border, one tiny and one degenerate."""
    xy = rng.uniform(-2, size / scale + 2, (k, 2))
    wh = rng.uniform(0.3, size / scale * 0.8, (k, 2))
    boxes = np.concatenate([xy, xy + wh], 1)
    boxes[0] = [1.2, 1.7, 1.4, 1.9]      # smaller than a cell
    boxes[1] = [3.0, 2.0, 3.0, 2.0]      # zero size
    boxes[2] = [1.0, 3.0, 5.0, 7.0]      # corners at half cells when scale = 0.5: C rounds halves away from 0
    b = rng.integers(0, n_images, (k, 1)).astype(np.float64)
    return np.concatenate([b, boxes], 1)


@pytest.mark.parametrize("output_size,scale", [((2, 2), 1.0), ((3, 4), 0.5), ((7, 7), 0.25)])
def test_roi_pool_matches_loop_reference(rng, output_size, scale):
    x = rng.standard_normal((2, 3, 9, 11))
    rois = _rois(rng, 2, 12, 10, scale)
    want, _ = roi_pool_ref(x, rois, *output_size, scale)
    got = ops.roi_pool(cn.tensor(x), cn.tensor(rois), output_size, spatial_scale=scale)
    assert_same(got, want)


def test_roi_pool_backward_routes_to_the_argmax(rng):
    x = rng.standard_normal((2, 3, 9, 11))
    rois = _rois(rng, 2, 8, 10, 0.5)
    _, arg = roi_pool_ref(x, rois, 3, 3, 0.5)
    up = rng.standard_normal((8, 3, 3, 3))
    want = np.zeros_like(x)
    for key, where in arg.items():
        want[where] += up[key]
    xt = cn.tensor(x, requires_grad=True)
    ops.roi_pool(xt, cn.tensor(rois), 3, 0.5).backward(cn.tensor(up))
    np.testing.assert_allclose(xt.grad.numpy(), want, atol=1e-12)


def test_roi_pool_gradcheck(rng):
    x = rng.permutation(2 * 2 * 8 * 8).reshape(2, 2, 8, 8) / 10.0  # distinct values: no ties
    rois = np.array([[0, 0.0, 0.0, 6.0, 5.0], [1, 2.0, 1.0, 7.0, 7.0], [1, 1.0, 3.0, 4.0, 4.0]])
    gradcheck(lambda a, r: ops.roi_pool(a, r, (2, 3), 1.0), [x, rois], grad_inputs=[0])


@pytest.mark.parametrize("output_size,scale,sampling_ratio,aligned", [
    ((2, 2), 1.0, -1, False), ((3, 4), 0.5, 2, False), ((2, 3), 0.5, -1, True), ((5, 5), 0.25, 0, True),
    ((4, 3), 1.0, 1, True)])
def test_roi_align_matches_loop_reference(rng, output_size, scale, sampling_ratio, aligned):
    x = rng.standard_normal((2, 3, 9, 11))
    rois = _rois(rng, 2, 10, 10, scale)
    want = roi_align_ref(x, rois, *output_size, scale, sampling_ratio, aligned)
    got = ops.roi_align(cn.tensor(x), cn.tensor(rois), output_size, scale, sampling_ratio, aligned)
    np.testing.assert_allclose(got.numpy(), want, atol=1e-12)


@pytest.mark.parametrize("sampling_ratio,aligned", [(-1, False), (2, True)])
def test_roi_align_gradcheck(rng, sampling_ratio, aligned):
    x = rng.standard_normal((2, 2, 7, 8))
    rois = _rois(rng, 2, 5, 8, 1.0)
    gradcheck(lambda a, r: ops.roi_align(a, r, (3, 2), 1.0, sampling_ratio, aligned), [x, rois], grad_inputs=[0])


def test_list_of_boxes_equals_k_by_5(rng):
    x = cn.tensor(rng.standard_normal((2, 1, 8, 8)).astype(np.float32))
    b0, b1 = np.array([[0, 0, 4, 4.0]], np.float32), np.array([[1, 1, 7, 6.0], [2, 2, 3, 3.0]], np.float32)
    rois = np.array([[0, 0, 0, 4, 4], [1, 1, 1, 7, 6], [1, 2, 2, 3, 3]], np.float32)
    for fn in (ops.roi_pool, ops.roi_align):
        assert_same(fn(x, [cn.tensor(b0), cn.tensor(b1)], 2), fn(x, cn.tensor(rois), 2))
    assert ops.roi_align(x, cn.tensor(rois), 2).dtype == cn.float32


def test_modules_and_errors(rng):
    x = cn.tensor(rng.standard_normal((1, 2, 6, 6)))
    rois = cn.tensor([[0, 0.0, 0.0, 5.0, 5.0]])
    assert_same(ops.RoIPool((2, 2), 1.0)(x, rois), ops.roi_pool(x, rois, 2))
    assert_same(ops.RoIAlign(2, 1.0, 2)(x, rois), ops.roi_align(x, rois, 2, 1.0, 2))
    with pytest.raises(ValueError, match=r"\(K, 5\)"):
        ops.roi_pool(x, cn.tensor([[0.0, 0.0, 5.0, 5.0]]), 2)
    with pytest.raises(ValueError, match="batch indices"):
        ops.roi_align(x, cn.tensor([[3, 0.0, 0.0, 5.0, 5.0]]), 2)
    with pytest.raises(ValueError, match="output_size"):
        ops.roi_align(x, rois, 0)
