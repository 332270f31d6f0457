"""Bad arguments to the convolutions: the right exception type, and a message that names the
function, the argument and (for sizes) the output-size arithmetic."""
import numpy as np
import pytest

import convnet as cn
import convnet.functional as F
from convnet.ops.im2col import im2col


def _t(*shape, dtype=np.float32):
    return cn.tensor(np.ones(shape, dtype=dtype))


X, W = _t(2, 3, 6, 6), _t(4, 3, 3, 3)


@pytest.mark.parametrize("args,kwargs,exc,parts", [
    ((cn.tensor(np.ones((2, 3, 6, 6), np.int64)), W), {}, TypeError,
     ["conv2d", "argument 'input'", "floating-point"]),
    ((X, cn.tensor(np.ones((4, 3, 3, 3), np.int64))), {}, TypeError, ["conv2d", "argument 'weight'"]),
    ((np.ones((2, 3, 6, 6), np.float32), W), {}, TypeError, ["conv2d", "'input'", "Tensor"]),
    ((_t(2, 3, 6, 6, dtype=np.float64), W), {}, TypeError, ["conv2d", "float64", "float32", "'weight'"]),
    ((X, W, _t(4, dtype=np.float64)), {}, TypeError, ["conv2d", "'bias'", "float64"]),
    ((X, _t(4, 2, 3, 3)), {}, ValueError, ["conv2d: input has 3 channels but weight expects 2 × groups=1"]),
    ((X, _t(4, 3, 3)), {}, ValueError, ["conv2d", "'weight'", "4-D", "(4, 3, 3)"]),
    ((_t(3, 6), W), {}, ValueError, ["conv2d", "'input'", "3-D", "4-D", "(3, 6)"]),
    ((_t(2, 4, 6, 6), _t(5, 2, 3, 3)), dict(groups=2), ValueError, ["conv2d", "C_out=5", "groups=2"]),
    ((X, _t(4, 1, 3, 3)), dict(groups=2), ValueError, ["conv2d", "3 channels", "groups=2"]),
    ((X, W), dict(groups=0), ValueError, ["conv2d", "groups", "0"]),
    ((X, W, _t(3)), {}, ValueError, ["conv2d", "'bias'", "(4,)", "(3,)"]),
    ((X, W), dict(stride=0), ValueError, ["conv2d", "stride", "positive"]),
    ((X, W), dict(stride=(1, 2, 3)), ValueError, ["conv2d", "stride", "2 values"]),
    ((X, W), dict(dilation=(1, -1)), ValueError, ["conv2d", "dilation", "positive"]),
    ((X, W), dict(padding=-1), ValueError, ["conv2d", "padding", "non-negative"]),
    ((X, W), dict(padding="same", stride=2), ValueError, ["conv2d", "same", "strided"]),
    ((X, W), dict(padding="full"), ValueError, ["conv2d", "padding", "'full'"]),
    ((_t(1, 3, 0, 4), W), dict(padding=2), ValueError, ["conv2d", "'input'", "empty spatial"]),
])
def test_conv2d_bad_arguments(args, kwargs, exc, parts):
    with pytest.raises(exc) as info:
        F.conv2d(*args, **kwargs)
    for p in parts:
        assert p in str(info.value), str(info.value)


def test_kernel_larger_than_padded_input_shows_arithmetic():
    with pytest.raises(ValueError) as info:
        F.conv2d(_t(1, 1, 3, 3), _t(1, 1, 5, 5))
    msg = str(info.value)
    assert msg.startswith("conv2d: kernel (5, 5) with dilation (1, 1) is larger than the padded input (3, 3)")
    assert "output height (3 + 2·0 − 1·(5−1) − 1)/1 + 1 = -2/1 + 1" in msg


@pytest.mark.parametrize("fn,x,w,kw,parts", [
    (F.conv1d, _t(1, 2, 4), _t(3, 2, 3), dict(dilation=3),
     ["conv1d", "output length", "(4 + 2·0 − 3·(3−1) − 1)/1 + 1"]),
    (F.conv3d, _t(1, 1, 2, 8, 8), _t(1, 1, 3, 3, 3), dict(stride=2),
     ["conv3d", "output depth", "(2 + 2·0 − 1·(3−1) − 1)/2 + 1"]),
    (F.conv2d, _t(1, 1, 8, 1), _t(1, 1, 3, 4), dict(padding=(0, 1)),
     ["conv2d", "padded input (8, 3)", "output width (1 + 2·1 − 1·(4−1) − 1)/1 + 1"]),
])
def test_kernel_too_large_1d_3d(fn, x, w, kw, parts):
    with pytest.raises(ValueError) as info:
        fn(x, w, **kw)
    for p in parts:
        assert p in str(info.value), str(info.value)


XT, WT = _t(2, 4, 3, 3), _t(4, 2, 3, 3)


@pytest.mark.parametrize("args,kwargs,exc,parts", [
    ((XT, WT), dict(stride=2, output_padding=2), ValueError,
     ["conv_transpose2d", "output_padding (2, 2)", "stride (2, 2)", "dilation (1, 1)"]),
    ((XT, WT), dict(output_padding=1), ValueError, ["conv_transpose2d", "output_padding"]),
    ((XT, WT), dict(output_padding=-1), ValueError, ["conv_transpose2d", "output_padding", "non-negative"]),
    ((XT, WT), dict(padding="same"), TypeError, ["conv_transpose2d", "'padding'", "'same'"]),
    ((XT, WT), dict(padding=-1), ValueError, ["conv_transpose2d", "padding", "non-negative"]),
    ((_t(2, 3, 3, 3), WT), {}, ValueError, ["conv_transpose2d", "input has 3 channels", "expects 4"]),
    ((XT, _t(4, 2, 3)), {}, ValueError, ["conv_transpose2d", "'weight'", "(C_in, C_out/groups, kH, kW)"]),
    ((XT, WT), dict(groups=3), ValueError, ["conv_transpose2d", "C_in=4", "groups=3"]),
    ((XT, WT, _t(3)), {}, ValueError, ["conv_transpose2d", "'bias'", "(2,)"]),
    ((XT, WT), dict(padding=3), ValueError,
     ["conv_transpose2d", "output height", "(3 − 1)·1 − 2·3 + 1·(3−1) + 0 + 1 = -1"]),
    ((_t(2, 4, 0, 3), WT), {}, ValueError, ["conv_transpose2d", "empty spatial"]),
    ((cn.tensor(np.ones((2, 4, 3, 3), np.int32)), WT), {}, TypeError, ["conv_transpose2d", "'input'"]),
])
def test_conv_transpose_bad_arguments(args, kwargs, exc, parts):
    with pytest.raises(exc) as info:
        F.conv_transpose2d(*args, **kwargs)
    for p in parts:
        assert p in str(info.value), str(info.value)


def test_conv_transpose_1d_3d_messages():
    with pytest.raises(ValueError, match="conv_transpose1d: .*output length"):
        F.conv_transpose1d(_t(1, 2, 2), _t(2, 1, 2), padding=2)  # (2-1)·1 - 4 + 1 + 1 = -1
    with pytest.raises(ValueError, match="conv_transpose3d: argument 'input'"):
        F.conv_transpose3d(_t(2, 2), _t(2, 1, 2, 2, 2))


@pytest.mark.parametrize("call,exc,parts", [
    (lambda: F.unfold(_t(1, 1, 2, 3, 3), 2), ValueError, ["unfold", "'input'", "4-D"]),
    (lambda: F.unfold(_t(1, 1, 3, 3), 5), ValueError,
     ["unfold", "kernel_size (5, 5)", "(3 + 2·0 − 1·(5−1) − 1)/1 + 1"]),
    (lambda: F.unfold(_t(1, 1, 3, 3), 2, stride=0), ValueError, ["unfold", "stride", "positive"]),
    (lambda: F.unfold(cn.tensor(np.ones((1, 1, 3, 3), np.int64)), 2), TypeError, ["unfold", "'input'"]),
    (lambda: F.fold(_t(1, 7, 4), (3, 3), 2), ValueError, ["fold", "7 rows", "2·2 = 4"]),
    (lambda: F.fold(_t(1, 4, 5), (3, 3), 2), ValueError, ["fold", "L=5", "2·2 = 4 sliding blocks"]),
    (lambda: F.fold(_t(4, 4, 4, 4), (3, 3), 2), ValueError, ["fold", "'input'", "3-D"]),
    (lambda: F.fold(_t(1, 16, 4), (3, 3), 4), ValueError, ["fold", "blocks along height"]),
    (lambda: im2col(np.ones((1, 1, 3, 3)), 4), ValueError,
     ["im2col", "(3 + 2·0 − 1·(4−1) − 1)/1 + 1"]),
])
def test_unfold_fold_bad_arguments(call, exc, parts):
    with pytest.raises(exc) as info:
        call()
    for p in parts:
        assert p in str(info.value), str(info.value)


@pytest.mark.parametrize("kwargs,exc,parts", [
    (dict(stride=True), TypeError, ["conv2d", "stride", "True"]),
    (dict(padding=True), TypeError, ["conv2d", "padding", "True"]),
    (dict(groups=True), ValueError, ["conv2d", "groups", "True"]),
    (dict(stride=1.0), TypeError, ["conv2d", "stride", "1.0"]),
])
def test_bool_and_float_arguments_rejected(kwargs, exc, parts):
    """The int fast paths (``type(v) is int``) must not let bools or floats through."""
    with pytest.raises(exc) as info:
        F.conv2d(X, W, **kwargs)
    for p in parts:
        assert p in str(info.value), str(info.value)


def test_numpy_integer_arguments_match_python_ints():
    """NumPy integers take the slow normalising path and give the same result as ints."""
    x = cn.tensor(np.random.default_rng(0).standard_normal((2, 3, 7, 7)).astype(np.float32))
    w = cn.tensor(np.random.default_rng(1).standard_normal((4, 3, 3, 3)).astype(np.float32))
    want = F.conv2d(x, w, stride=2, padding=(1, 0), dilation=1).numpy()
    got = F.conv2d(x, w, stride=np.int64(2), padding=(np.int32(1), 0), dilation=(np.int64(1),) * 2).numpy()
    np.testing.assert_array_equal(got, want)
