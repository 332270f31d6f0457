"""Attributions on models whose answer is known, feature maps, tile counts, the teaching demos."""
import numpy as np
import pytest

import convnet as cn
from convnet import filters, nn, viz
from convnet.viz import plots


def _linear_on_pixels(weights):
    """score 0 = sum(weights * image) (1x16x16 input), score 1 = 0."""
    model = nn.Sequential(nn.Flatten(), nn.Linear(weights.size, 2))
    model[1].weight._data[...] = 0
    model[1].bias._data[...] = 0
    model[1].weight._data[0] = weights.ravel()
    return model


def test_saliency_peaks_at_the_only_pixel_that_matters(rng):
    w = np.zeros((1, 16, 16), np.float32)
    w[0, 5, 11] = 2.0
    model = nn.Sequential(nn.Conv2d(1, 1, 1, bias=False), nn.ReLU(), nn.Flatten(), nn.Linear(256, 2))
    model[0].weight._data[...] = 1.0
    model[3].weight._data[...] = 0
    model[3].weight._data[0] = w.ravel()
    x = np.abs(rng.standard_normal((2, 1, 16, 16))).astype(np.float32) + 0.1
    s = viz.saliency(model, x, 0)
    assert s.shape == x.shape
    for n in range(2):
        assert np.unravel_index(s[n, 0].argmax(), (16, 16)) == (5, 11)
        assert np.count_nonzero(s[n]) == 1 and s[n, 0, 5, 11] == pytest.approx(2.0)


def test_occlusion_drops_only_over_the_key_region():
    w = np.zeros((1, 16, 16), np.float32)
    w[0, 8:12, 4:8] = 1.0                        # the score is the sum of this 4x4 region
    model = _linear_on_pixels(w)
    x = np.ones((1, 1, 16, 16), np.float32)
    att = viz.occlusion(model, x, 0, window=(4, 4), stride=(4, 4))[0, 0]
    assert np.all(att[8:12, 4:8] == pytest.approx(16.0))   # the whole score is lost there
    mask = np.ones((16, 16), bool)
    mask[8:12, 4:8] = False
    assert np.all(att[mask] == 0)
    probs = viz.occlusion_map(model, x, 0, window=(4, 4), stride=(4, 4))[0]
    assert probs.shape == (4, 4) and probs.argmin() == np.ravel_multi_index((2, 1), (4, 4))


def test_feature_maps_of_a_sobel_layer_equal_correlate2d(rng):
    sobel = filters.get_kernel("sobel_x").astype(np.float32)
    model = nn.Sequential(nn.Conv2d(1, 1, 3, bias=False), nn.ReLU())
    model[0].weight._data[...] = sobel
    image = rng.standard_normal((1, 20, 18)).astype(np.float32)
    maps = viz.feature_maps(model, image, layers=["0"])
    np.testing.assert_allclose(maps["0"][0], filters.correlate2d(image[0], sobel), atol=1e-5)
    assert list(viz.feature_maps(model, image)) == ["0"]   # default: every Conv2d


def test_tile_counts_match_layer_shapes():
    m = cn.models.get("lenet5")
    assert viz.filter_tiles(m.features.c1).shape == (6, 5, 5)
    assert viz.filter_tiles(m.features.c3).shape == (16 * 6, 5, 5)
    rgb = viz.filter_tiles(nn.Conv2d(3, 8, 3))
    assert rgb.shape == (8, 3, 3, 3) and rgb.min() == 0 and rgb.max() == 1
    maps = viz.feature_maps(m, cn.randn(1, 32, 32).numpy())
    assert {k: v.shape for k, v in maps.items()} == {"features.c1": (6, 28, 28), "features.c3": (16, 10, 10),
                                                    "features.c5": (120, 1, 1)}
    canvas = plots.mosaic(list(viz.filter_tiles(m.features.c3)), cols=6)
    assert canvas.shape == (16 * 6 - 1, 6 * 6 - 1)            # 16 rows x 6 columns of 5x5 tiles, 1-px gaps
    assert np.isnan(canvas).sum() == canvas.size - 96 * 25


def test_translation_equivariance_demo(rng):
    image = np.zeros((28, 28), np.float32)
    image[8:20, 10:14] = 1.0
    image += 0.1 * rng.random((28, 28)).astype(np.float32)
    demo = viz.translation_equivariance(image, filters.get_kernel("sobel_x"), dy=3, dx=2)
    inside = demo["interior"]
    np.testing.assert_allclose(demo["shifted_map"][inside], demo["map_then_shift"][inside], atol=1e-5)
    assert demo["max_interior_error"] < 1e-5
    assert not np.allclose(demo["shifted_map"], demo["map"])   # the map did move
    assert demo["change_pooled"] < demo["change_conv"]        # pooling: small-shift invariance


def test_vanishing_gradient_demo():
    assert viz.sigmoid_slope_at_zero() == pytest.approx(0.25)
    norms = viz.vanishing_gradient(depth=8, width=16)
    s, r = norms["sigmoid"], norms["relu"]
    assert s.shape == r.shape == (8,)
    assert s[0] < 1e-2 * s[-1]                               # vanishes towards the input
    assert r[0] > 1e-1 * r[-1]                               # ReLU keeps it


def test_embedding_pca_matches_sklearn_on_the_penultimate_features():
    from sklearn.decomposition import PCA

    m = cn.models.get("lenet5")
    ds = cn.data.get("digits", "test")
    pts, labels, feats = viz.embedding(m, ds, limit=60)
    x, y = viz.dataset_arrays(ds, 60)
    with cn.no_grad():                                         # the input of the last Linear, by hand
        ref = m.classifier.act6(m.classifier.f6(m.features(cn.tensor(x)).flatten(1))).numpy()
    np.testing.assert_allclose(feats, ref, atol=1e-5)
    np.testing.assert_allclose(np.abs(pts), np.abs(PCA(2, random_state=0).fit_transform(ref.astype(np.float64))),
                               atol=1e-3)
    assert (labels == y).all() and pts.shape == (60, 2)


def test_bad_arguments_name_themselves():
    m = cn.models.get("lenet5")
    with pytest.raises(ValueError, match="input must be a batch"):
        viz.saliency(m, np.zeros((1, 32, 32), np.float32), 0)
    with pytest.raises(ValueError, match="layer 'nope' is not a module"):
        viz.grad_cam(m, np.zeros((1, 1, 32, 32), np.float32), 0, "nope")
    with pytest.raises(ValueError, match="target must be an int"):
        viz.saliency(m, np.zeros((2, 1, 32, 32), np.float32), [1, 2, 3])
    with pytest.raises(ValueError, match="is not Conv2d, ReLU or MaxPool2d"):
        viz.project_down(m, np.zeros((1, 1, 32, 32), np.float32), "classifier.f6", 0)
