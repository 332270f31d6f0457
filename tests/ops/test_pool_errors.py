"""Bad pooling arguments raise ValueError/TypeError naming the function and the argument."""
import numpy as np
import pytest

import convnet as cn
import convnet.functional as F


def x4(*shape, dtype=np.float32):
    return cn.tensor(np.zeros(shape or (1, 1, 7, 7), dtype))


@pytest.mark.parametrize("call,exc,match", [
    # padding larger than half the kernel
    (lambda: F.max_pool2d(x4(), 3, padding=2), ValueError,
     r"max_pool2d: padding should be at most half of effective kernel size, but got padding=2 for kernel_size=3"),
    (lambda: F.max_pool2d(x4(), 3, padding=2, dilation=2), ValueError, r"max_pool2d: padding.*dilation=2"),
    (lambda: F.avg_pool2d(x4(), (3, 4), padding=(1, 3)), ValueError,
     r"avg_pool2d: padding.*padding=3 for kernel_size=4"),
    (lambda: F.max_pool1d(x4(1, 1, 9), 3, padding=2), ValueError, r"max_pool1d: padding"),
    (lambda: F.avg_pool3d(x4(1, 1, 4, 4, 4), 2, padding=2), ValueError, r"avg_pool3d: padding"),
    (lambda: F.max_pool2d(x4(), 2, padding=-1), ValueError, r"max_pool2d: padding must be non-negative"),
    # window larger than the padded input: the output-size arithmetic is in the message
    (lambda: F.max_pool2d(x4(), 8), ValueError,
     r"max_pool2d: kernel_size=8.*⌊\(7 \+ 2·0 − 1·\(8−1\) − 1\)/8⌋ \+ 1 = ⌊-1/8⌋ \+ 1 = 0"),
    (lambda: F.avg_pool2d(x4(1, 1, 3, 9), (4, 2)), ValueError, r"avg_pool2d: kernel_size=4.*spatial axis 0"),
    (lambda: F.max_pool1d(x4(1, 1, 4), 3, dilation=2), ValueError, r"max_pool1d: kernel_size=3 \(dilation=2\)"),
    # non-positive stride / kernel / dilation
    (lambda: F.max_pool2d(x4(), 2, stride=0), ValueError,
     r"max_pool2d: stride must be greater than zero, got stride=0"),
    (lambda: F.avg_pool1d(x4(1, 1, 9), 2, stride=-1), ValueError, r"avg_pool1d: stride must be greater than zero"),
    (lambda: F.max_pool2d(x4(), 0), ValueError, r"max_pool2d: kernel_size must be greater than zero"),
    (lambda: F.max_pool3d(x4(1, 1, 4, 4, 4), 2, dilation=0), ValueError, r"max_pool3d: dilation must be greater"),
    # malformed tuples
    (lambda: F.max_pool2d(x4(), (2, 3, 4)), ValueError,
     r"max_pool2d: kernel_size must be a single int or a tuple of 2"),
    (lambda: F.max_pool2d(x4(), 2.0), TypeError, r"max_pool2d: kernel_size must be an int"),
    (lambda: F.avg_pool2d(x4(), 2, divisor_override=0), ValueError, r"avg_pool2d: divisor_override must be non-zero"),
    # wrong dtype
    (lambda: F.max_pool2d(x4(dtype=np.int64), 2), TypeError, r"max_pool2d: argument 'input' must be a floating"),
    (lambda: F.avg_pool1d(x4(1, 1, 9, dtype=np.int32), 2), TypeError, r"avg_pool1d: argument 'input'"),
    (lambda: F.adaptive_avg_pool2d(x4(dtype=np.bool_), 2), TypeError, r"adaptive_avg_pool2d: argument 'input'"),
    (lambda: F.max_pool2d(np.zeros((1, 1, 4, 4)), 2), TypeError, r"max_pool2d: argument 'input' must be a Tensor"),
    # wrong ndim / empty non-batch dims
    (lambda: F.max_pool2d(x4(7, 7), 2), ValueError,
     r"max_pool2d: expected a 3D \(C, H, W\) or 4D \(N, C, H, W\) input, got a 2D input of shape \(7, 7\)"),
    (lambda: F.max_pool1d(x4(7), 2), ValueError, r"max_pool1d: expected a 2D \(C, L\) or 3D"),
    (lambda: F.avg_pool3d(x4(1, 1, 1, 4, 4, 4), 2), ValueError, r"avg_pool3d: expected a 4D"),
    (lambda: F.adaptive_max_pool2d(x4(1, 2, 3, 4, 5), 2), ValueError, r"adaptive_max_pool2d: expected"),
    (lambda: F.max_pool2d(x4(1, 0, 4, 4), 2), ValueError, r"max_pool2d: expected non-zero sizes"),
    # adaptive output_size
    (lambda: F.adaptive_avg_pool2d(x4(), -1), ValueError,
     r"adaptive_avg_pool2d: elements of output_size must be non-negative"),
    (lambda: F.adaptive_avg_pool2d(x4(), (2, 2, 2)), ValueError,
     r"adaptive_avg_pool2d: output_size must have 2 entries"),
    (lambda: F.adaptive_avg_pool3d(x4(1, 1, 4, 4, 4), None), TypeError, r"adaptive_avg_pool3d: output_size"),
    (lambda: F.avg_pool3d(x4(1, 1, 4, 7, 1), 4, padding=2), ValueError,
     r"avg_pool3d: input image \(D, H, W\) = \(4, 7, 1\) is smaller than kernel_size"),
    (lambda: F.adaptive_max_pool1d(x4(1, 1, 9), 2.5), TypeError, r"adaptive_max_pool1d: output_size must be an int"),
])
def test_bad_arguments(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_stride_none_or_empty_means_kernel_size():
    x = cn.tensor(np.arange(16.0).reshape(1, 1, 4, 4))
    want = np.array([[[[5.0, 7.0], [13.0, 15.0]]]])  # non-overlapping 2x2 windows of 0..15
    for stride in ((), None):
        y = F.max_pool2d(x, 2, stride=stride)
        assert y.shape == (1, 1, 2, 2) and y.dtype == np.float64
        np.testing.assert_array_equal(y.numpy(), want)
    np.testing.assert_array_equal(F.max_pool2d(x, 2).numpy(), want)


@pytest.mark.parametrize("kernel", [True, (True, 2), (2, 2.0)])
def test_bool_and_float_window_rejected(kernel):
    """The int fast paths (``type(v) is int``) must not let bools or floats through."""
    with pytest.raises(TypeError, match=r"max_pool2d: kernel_size must be an int"):
        F.max_pool2d(x4(), kernel)


def test_numpy_integer_window_matches_python_ints():
    x = cn.tensor(np.random.default_rng(0).standard_normal((1, 2, 7, 7)).astype(np.float32))
    want = F.max_pool2d(x, 3, 2, 1).numpy()
    got = F.max_pool2d(x, np.int64(3), (np.int32(2), 2), np.int64(1)).numpy()
    np.testing.assert_array_equal(got, want)
