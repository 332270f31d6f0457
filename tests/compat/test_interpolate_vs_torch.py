"""F.interpolate / nn.Upsample against PyTorch 2.13: every mode, align_corners, size vs
scale_factor (with recompute_scale_factor), forward and input gradient; float64 finite differences."""
import numpy as np
import pytest
import torch

import convnet as cn
import convnet.functional as F
from convnet import nn
from helpers import check_against_torch, gradcheck

TF = torch.nn.functional


def x_of(shape, dtype=np.float32, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


# (input shape, kwargs): sizes up and down, scale factors that are and are not integers
CASES_2D = [
    dict(size=(9, 11)), dict(size=(3, 4)), dict(size=7), dict(size=(5, 7)),
    dict(scale_factor=2), dict(scale_factor=2.1), dict(scale_factor=1.7), dict(scale_factor=0.6),
    dict(scale_factor=(1.5, 0.4)), dict(scale_factor=1.7, recompute_scale_factor=True),
    dict(scale_factor=(1.3, 0.55), recompute_scale_factor=True), dict(size=(1, 1)), dict(scale_factor=3),
]
MODES_2D = [("nearest", None), ("nearest-exact", None), ("bilinear", False), ("bilinear", True),
            ("bilinear", None), ("area", None)]


@pytest.mark.parametrize("mode, align", MODES_2D)
@pytest.mark.parametrize("kw", CASES_2D, ids=[str(c) for c in CASES_2D])
def test_interpolate_2d_matches_torch(kw, mode, align):
    extra = {} if align is None else {"align_corners": align}
    args = dict(kw, mode=mode, **extra)
    check_against_torch(lambda x: F.interpolate(x, **args), lambda x: TF.interpolate(x, **args),
                        [x_of((2, 3, 5, 7))], atol=1e-5)


CASES_1D = [dict(size=9), dict(size=4), dict(scale_factor=2.5), dict(scale_factor=0.7),
            dict(scale_factor=1.3, recompute_scale_factor=True)]


@pytest.mark.parametrize("mode, align", [("nearest", None), ("nearest-exact", None), ("linear", False),
                                         ("linear", True)])
@pytest.mark.parametrize("kw", CASES_1D, ids=[str(c) for c in CASES_1D])
def test_interpolate_1d_matches_torch(kw, mode, align):
    extra = {} if align is None else {"align_corners": align}
    args = dict(kw, mode=mode, **extra)
    check_against_torch(lambda x: F.interpolate(x, **args), lambda x: TF.interpolate(x, **args),
                        [x_of((2, 3, 6))], atol=1e-5)


@pytest.mark.parametrize("mode, align", [("nearest", None), ("trilinear", False), ("trilinear", True)])
def test_interpolate_3d_matches_torch(mode, align):
    extra = {} if align is None else {"align_corners": align}
    args = dict(size=(3, 5, 4), mode=mode, **extra)
    check_against_torch(lambda x: F.interpolate(x, **args), lambda x: TF.interpolate(x, **args),
                        [x_of((1, 2, 2, 3, 5))], atol=1e-5)


@pytest.mark.parametrize("args", [dict(size=(9, 11), mode="bilinear"),
                                  dict(scale_factor=1.7, mode="bilinear", align_corners=True),
                                  dict(scale_factor=0.6, mode="bilinear"),
                                  dict(scale_factor=2.1, mode="nearest"),
                                  dict(size=(3, 4), mode="nearest-exact")])
def test_interpolate_float64_matches_torch_and_gradcheck(args):
    x = x_of((2, 2, 5, 6), np.float64, seed=2)
    check_against_torch(lambda t: F.interpolate(t, **args), lambda t: TF.interpolate(t, **args), [x])
    gradcheck(lambda t: F.interpolate(t, **args), [x])


MODULES = [
    (lambda: nn.Upsample(scale_factor=2), lambda: torch.nn.Upsample(scale_factor=2)),
    (lambda: nn.Upsample(size=(8, 9), mode="bilinear"), lambda: torch.nn.Upsample(size=(8, 9), mode="bilinear")),
    (lambda: nn.Upsample(scale_factor=1.5, mode="bilinear", align_corners=True),
     lambda: torch.nn.Upsample(scale_factor=1.5, mode="bilinear", align_corners=True)),
    (lambda: nn.UpsamplingNearest2d(scale_factor=3), lambda: torch.nn.UpsamplingNearest2d(scale_factor=3)),
    (lambda: nn.UpsamplingBilinear2d(size=(9, 10)), lambda: torch.nn.UpsamplingBilinear2d(size=(9, 10))),
    (lambda: nn.UpsamplingBilinear2d(scale_factor=2), lambda: torch.nn.UpsamplingBilinear2d(scale_factor=2)),
]


@pytest.mark.parametrize("make", MODULES)
def test_upsample_modules_match_torch(make):
    check_against_torch(make[0](), make[1](), [x_of((2, 3, 4, 5))], atol=1e-5)


def test_bilinear_known_values():
    """Hand-computed: [1, 2] to 4 samples, half-pixel centres -> 1, 1.25, 1.75, 2; corners -> 1, 4/3, 5/3, 2."""
    x = cn.tensor([[[1.0, 2.0]]])
    assert F.interpolate(x, size=4, mode="linear").tolist() == [[[1.0, 1.25, 1.75, 2.0]]]
    got = F.interpolate(x, size=4, mode="linear", align_corners=True).numpy()
    np.testing.assert_allclose(got, [[[1.0, 4 / 3, 5 / 3, 2.0]]], rtol=1e-6)
    assert F.interpolate(x, scale_factor=2).tolist() == [[[1.0, 1.0, 2.0, 2.0]]]


@pytest.mark.parametrize("call, match", [
    (lambda x: F.interpolate(x), "exactly one of size or scale_factor"),
    (lambda x: F.interpolate(x, size=4, scale_factor=2), "exactly one"),
    (lambda x: F.interpolate(x, size=4, mode="bicubic"), "mode"),
    (lambda x: F.interpolate(x, size=4, mode="linear"), "3-D"),
    (lambda x: F.interpolate(x, size=4, align_corners=True), "align_corners"),
    (lambda x: F.interpolate(x, size=(4, 4, 4)), "size must have 2 entries"),
    (lambda x: F.interpolate(x, scale_factor=-1.0), "scale_factor"),
    (lambda x: F.interpolate(x, scale_factor=0.01), "empty output"),
    (lambda x: F.interpolate(x[0, 0], size=3), "3-D, 4-D or 5-D"),
])
def test_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call(cn.tensor(x_of((1, 2, 5, 5))))
