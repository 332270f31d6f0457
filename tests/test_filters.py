"""convnet.filters: the notes' worked examples, and comparisons with scipy, NumPy and PyTorch."""
import numpy as np
import pytest

import convnet.functional as F
from convnet import filters

# ---------------------------------------------------------------- named kernels, as the notes print them


EXPECTED_KERNELS = {
    "vertical_edge": [[1, 0, -1], [1, 0, -1], [1, 0, -1]],
    "horizontal_edge": [[1, 1, 1], [0, 0, 0], [-1, -1, -1]],
    "sobel_x": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "sobel_y": [[1, 2, 1], [0, 0, 0], [-1, -2, -1]],
    "prewitt_x": [[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]],
    "prewitt_y": [[1, 1, 1], [0, 0, 0], [-1, -1, -1]],
    "laplacian": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
    "edge": [[1, 1, 1], [1, -8, 1], [1, 1, 1]],
    "roberts_x": [[1, 0], [0, -1]],
    "roberts_y": [[0, 1], [-1, 0]],
    "box": [[1 / 9] * 3] * 3,
    "gaussian5": (np.array([[1, 4, 7, 4, 1], [4, 16, 26, 16, 4], [7, 26, 41, 26, 7],
                            [4, 16, 26, 16, 4], [1, 4, 7, 4, 1]]) / 273).tolist(),
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
}


def test_kernel_table_exact():
    assert set(filters.KERNELS) == set(EXPECTED_KERNELS)
    for name, expected in EXPECTED_KERNELS.items():
        np.testing.assert_allclose(filters.KERNELS[name], expected, rtol=0, atol=1e-15, err_msg=name)
        assert filters.KERNELS[name].dtype == np.float64


def test_get_kernel_copy_and_names():
    k = filters.get_kernel("Sobel-X")
    k[0, 0] = 99
    assert filters.KERNELS["sobel_x"][0, 0] == -1
    with pytest.raises(ValueError, match=r"get_kernel: unknown kernel 'sobol'.*laplacian.*sobel_x"):
        filters.get_kernel("sobol")


def test_parse_kernel():
    np.testing.assert_array_equal(filters.parse_kernel("1,0,-1;1,0,-1;1,0,-1"),
                                  EXPECTED_KERNELS["vertical_edge"])
    np.testing.assert_allclose(filters.parse_kernel(" 1/9, 1/9 ; 0.5,-2 "), [[1 / 9, 1 / 9], [0.5, -2]])
    for bad, msg in [("1,0;1", "same number of entries"), ("1,a;1,0", "'a'"), ("", "expected a kernel"),
                     ("1,1/0", "'1/0'")]:
        with pytest.raises(ValueError, match=f"parse_kernel: .*{msg}"):
            filters.parse_kernel(bad)


def test_gaussian_kernel_vs_scipy_window():
    from scipy.signal.windows import gaussian

    for size, sigma in [(5, 1.0), (4, 0.7), (7, 2.5)]:
        g = gaussian(size, sigma)
        ref = np.outer(g, g) / np.outer(g, g).sum()
        np.testing.assert_allclose(filters.gaussian_kernel(size, sigma), ref, rtol=1e-12)
    for bad in [dict(size=0), dict(size=3.0), dict(sigma=0), dict(sigma=-1.0)]:
        with pytest.raises(ValueError, match="gaussian_kernel"):
            filters.gaussian_kernel(**bad)


# ---------------------------------------------------------------- the notes' worked examples


def test_worked_example_5x5():
    image = [[3, 5, 2, 8, 1], [9, 7, 5, 4, 3], [2, 0, 6, 1, 6], [6, 3, 7, 9, 2], [1, 4, 9, 5, 1]]
    kernel = [[1, 0, 0], [1, 1, 0], [0, 0, 1]]
    out = filters.correlate2d(image, kernel)
    np.testing.assert_array_equal(out, [[25, 18, 17], [18, 22, 14], [20, 15, 23]])
    assert out.dtype.kind == "f"


X_IMAGE = np.array([[1, 0, 0, 0, 0, 1], [0, 1, 0, 0, 1, 0], [0, 0, 1, 1, 0, 0],
                    [1, 0, 0, 0, 1, 0], [0, 1, 0, 0, 1, 0], [0, 0, 1, 0, 1, 0]])
X_FILTER = np.array([[1, -1, -1], [-1, 1, -1], [-1, -1, 1]])


def _loop_correlate(image, kernel, stride=1):
    """The slow reference: one explicit sum per output pixel."""
    image, kernel = np.asarray(image, float), np.asarray(kernel, float)
    (h, w), (kh, kw) = image.shape, kernel.shape
    out = np.zeros(((h - kh) // stride + 1, (w - kw) // stride + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            for m in range(kh):
                for n in range(kw):
                    out[i, j] += image[i * stride + m, j * stride + n] * kernel[m, n]
    return out


def test_worked_example_6x6_stride1():
    out = filters.correlate2d(X_IMAGE, X_FILTER)
    assert out.shape == (4, 4)
    np.testing.assert_array_equal(out[0], [3, -1, -3, -1])
    np.testing.assert_array_equal(out, _loop_correlate(X_IMAGE, X_FILTER))


def test_worked_example_6x6_stride2():
    out = filters.correlate2d(X_IMAGE, X_FILTER, stride=2)
    np.testing.assert_array_equal(out, [[3, -3], [-3, 0]])
    np.testing.assert_array_equal(out, _loop_correlate(X_IMAGE, X_FILTER, stride=2))


def test_worked_example_true_convolution_flips():
    image = [[0, 80, 40], [20, 40, 0], [0, 0, 40]]
    kernel = [[0, 0.25], [0.5, 1]]
    np.testing.assert_allclose(filters.convolve2d(image, kernel), [[45, 110], [40, 40]])
    # correlation does not flip: different numbers on the same data
    np.testing.assert_allclose(filters.correlate2d(image, kernel), _loop_correlate(image, kernel))


def test_unrolled_matrix_3x3_input_2x2_kernel():
    w1, w2, w3, w4 = 1, 2, 3, 4
    expected = np.array([[w1, w2, 0, w3, w4, 0, 0, 0, 0],
                         [0, w1, w2, 0, w3, w4, 0, 0, 0],
                         [0, 0, 0, w1, w2, 0, w3, w4, 0],
                         [0, 0, 0, 0, w1, w2, 0, w3, w4]], dtype=float)
    c = filters.conv_matrix((3, 3), [[w1, w2], [w3, w4]])
    np.testing.assert_array_equal(c, expected)
    np.testing.assert_array_equal(filters.conv_matrix((3, 3), [[w1, w2], [w3, w4]], sparse=True).toarray(),
                                  expected)


# ---------------------------------------------------------------- against scipy and NumPy


@pytest.mark.parametrize("shape,kshape", [((7, 9), (3, 3)), ((6, 5), (2, 4)), ((5, 5), (5, 1))])
def test_correlate_convolve_vs_scipy_valid(rng, shape, kshape):
    from scipy import signal

    image, kernel = rng.standard_normal(shape), rng.standard_normal(kshape)
    np.testing.assert_allclose(filters.correlate2d(image, kernel),
                               signal.correlate2d(image, kernel, mode="valid"), atol=1e-12)
    np.testing.assert_allclose(filters.convolve2d(image, kernel),
                               signal.convolve2d(image, kernel, mode="valid"), atol=1e-12)


@pytest.mark.parametrize("padding,stride", [(1, 1), (2, 2), ((0, 1), 1), ("same", 1), (1, (2, 1))])
def test_padding_and_stride_vs_scipy_on_padded_image(rng, padding, stride):
    from scipy import signal

    image, kernel = rng.standard_normal((7, 8)), rng.standard_normal((3, 3))
    p = (1, 1) if padding == "same" else ((padding, padding) if isinstance(padding, int) else padding)
    s = (stride, stride) if isinstance(stride, int) else stride
    padded = np.pad(image, ((p[0], p[0]), (p[1], p[1])))
    ref = signal.correlate2d(padded, kernel, mode="valid")[::s[0], ::s[1]]
    np.testing.assert_allclose(filters.correlate2d(image, kernel, padding=padding, stride=stride), ref,
                               atol=1e-12)


def test_same_padding_even_kernel_puts_extra_after(rng):
    image, kernel = rng.standard_normal((5, 6)), rng.standard_normal((2, 2))
    out = filters.correlate2d(image, kernel, padding="same")
    assert out.shape == image.shape
    ref = _loop_correlate(np.pad(image, ((0, 1), (0, 1))), kernel)  # PyTorch rule: extra unit after
    np.testing.assert_allclose(out, ref, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_multichannel_per_channel(rng, dtype):
    from scipy import signal

    image = rng.standard_normal((6, 7, 3)).astype(dtype)
    kernel = rng.standard_normal((3, 2)).astype(dtype)
    for op, ref_op in [(filters.correlate2d, signal.correlate2d), (filters.convolve2d, signal.convolve2d)]:
        out = op(image, kernel)
        assert out.shape == (4, 6, 3) and out.dtype == dtype
        for c in range(3):
            ref = ref_op(image[..., c].astype(float), kernel.astype(float), mode="valid")
            np.testing.assert_allclose(out[..., c], ref, atol=1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("n,k", [(10, 3), (7, 4), (5, 5), (3, 6)])
@pytest.mark.parametrize("mode", ["valid", "full", "same"])
def test_convolve1d_vs_numpy(rng, n, k, mode):
    x, w = rng.standard_normal(n), rng.standard_normal(k)
    if mode == "valid" and k > n:
        with pytest.raises(ValueError, match="convolve1d"):
            filters.convolve1d(x, w, mode=mode)
        return
    np.testing.assert_allclose(filters.convolve1d(x, w, mode=mode), np.convolve(x, w, mode=mode), atol=1e-12)


def test_convolve1d_index_convention():
    # s_t = sum_a x_{t-a} w_{-a}, weights[a] = w_{-a}: weights[0] weighs the newest sample
    x = np.array([1.0, 10.0, 100.0, 1000.0])
    np.testing.assert_array_equal(filters.convolve1d(x, [1.0, 0.0, 0.0]), [100.0, 1000.0])
    np.testing.assert_array_equal(filters.convolve1d(x, [0.0, 0.0, 1.0]), [1.0, 10.0])
    with pytest.raises(ValueError, match="mode"):
        filters.convolve1d(x, [1.0], mode="circular")


def test_sobel_on_vertical_step_edge_responds_only_at_edge():
    image = np.zeros((6, 8))
    image[:, 4:] = 255.0
    out = filters.correlate2d(image, filters.get_kernel("sobel_x"))  # (4, 6); window j covers cols j..j+2
    assert np.all(out[:, [2, 3]] == 4 * 255.0)
    assert np.all(out[:, [0, 1, 4, 5]] == 0)
    assert np.all(filters.correlate2d(image, filters.get_kernel("sobel_y")) == 0)


# ---------------------------------------------------------------- the Toeplitz matrix vs torch / convnet


GEOMETRIES = [((5, 6), (3, 3), 1, 0), ((6, 6), (3, 2), 2, 1), ((7, 5), (2, 3), 2, 0), ((4, 5), (3, 3), 1, 2)]


@pytest.mark.parametrize("in_hw,k_hw,stride,padding", GEOMETRIES)
def test_conv_matrix_vs_correlate_and_torch(rng, in_hw, k_hw, stride, padding):
    torch = pytest.importorskip("torch")
    x, k = rng.standard_normal(in_hw), rng.standard_normal(k_hw)
    c = filters.conv_matrix(in_hw, k, stride=stride, padding=padding)
    y = filters.correlate2d(x, k, padding=padding, stride=stride)
    ref = torch.nn.functional.conv2d(torch.tensor(x)[None, None], torch.tensor(k)[None, None],
                                     stride=stride, padding=padding)[0, 0].numpy()
    np.testing.assert_allclose(y, ref, atol=1e-12)
    np.testing.assert_allclose(c @ x.ravel(), ref.ravel(), atol=1e-12)
    np.testing.assert_allclose(filters.conv_matrix(in_hw, k, stride, padding, sparse=True) @ x.ravel(),
                               ref.ravel(), atol=1e-12)


def _output_padding(n, k, s, p, n_out):
    return n - ((n_out - 1) * s - 2 * p + k)  # what conv_transpose needs to give back n


@pytest.mark.parametrize("in_hw,k_hw,stride,padding", GEOMETRIES)
def test_conv_matrix_transpose_is_conv_transpose2d_torch(rng, in_hw, k_hw, stride, padding):
    torch = pytest.importorskip("torch")
    k = rng.standard_normal(k_hw)
    c = filters.conv_matrix(in_hw, k, stride=stride, padding=padding)
    out_hw = filters.correlate2d(np.zeros(in_hw), k, padding=padding, stride=stride).shape
    y = rng.standard_normal(out_hw)
    op = tuple(_output_padding(n, kk, stride, padding, no) for n, kk, no in zip(in_hw, k_hw, out_hw))
    ref = torch.nn.functional.conv_transpose2d(torch.tensor(y)[None, None], torch.tensor(k)[None, None],
                                               stride=stride, padding=padding, output_padding=op)
    np.testing.assert_allclose((c.T @ y.ravel()).reshape(in_hw), ref[0, 0].numpy(), atol=1e-12)


def _need(name):
    assert hasattr(F, name), f"convnet.functional.{name} is missing"
    return getattr(F, name)


@pytest.mark.parametrize("in_hw,k_hw,stride,padding", GEOMETRIES)
def test_conv_matrix_vs_convnet_functional(rng, in_hw, k_hw, stride, padding):
    import convnet as cn

    conv2d, conv_transpose2d = _need("conv2d"), _need("conv_transpose2d")
    x, k = rng.standard_normal(in_hw), rng.standard_normal(k_hw)
    c = filters.conv_matrix(in_hw, k, stride=stride, padding=padding)
    y = conv2d(cn.tensor(x[None, None]), cn.tensor(k[None, None]), stride=stride, padding=padding).numpy()
    np.testing.assert_allclose(c @ x.ravel(), y.ravel(), atol=1e-12)
    g = rng.standard_normal(y.shape[2:])
    op = tuple(_output_padding(n, kk, stride, padding, no) for n, kk, no in zip(in_hw, k_hw, g.shape))
    t = conv_transpose2d(cn.tensor(g[None, None]), cn.tensor(k[None, None]), stride=stride, padding=padding,
                         output_padding=op).numpy()
    np.testing.assert_allclose((c.T @ g.ravel()).reshape(in_hw), t[0, 0], atol=1e-12)


def test_im2col_reexport_matches_torch_unfold(rng):
    torch = pytest.importorskip("torch")
    from convnet.ops.im2col import col2im, im2col

    assert filters.im2col is im2col and filters.col2im is col2im
    x = rng.standard_normal((2, 3, 5, 6))
    ref = torch.nn.functional.unfold(torch.tensor(x), (2, 3), stride=(1, 2)).numpy()
    np.testing.assert_allclose(np.asarray(filters.im2col(x, (2, 3), (1, 2), 0, 1)), ref, atol=1e-12)


# ---------------------------------------------------------------- bad input


def test_kernel_larger_than_image_shows_arithmetic():
    msg = r"correlate2d: kernel 5x5 does not fit.*height = \(3 \+ 2·0 − 1·\(5−1\) − 1\)"
    with pytest.raises(ValueError, match=msg):
        filters.correlate2d(np.ones((3, 3)), np.ones((5, 5)))
    with pytest.raises(ValueError, match=r"convolve2d: .*width = \(4 \+ 2·0 .*"):
        filters.convolve2d(np.ones((9, 4)), np.ones((3, 6)))
    filters.correlate2d(np.ones((3, 3)), np.ones((5, 5)), padding=1)  # fits once padded
    with pytest.raises(ValueError, match="conv_matrix"):
        filters.conv_matrix((2, 2), np.ones((3, 3)))


@pytest.mark.parametrize("image,kernel,kw,msg", [
    (np.ones((4, 4)), np.ones(3), {}, r"correlate2d: kernel must be 2-D \(H, W\), got shape \(3,\)"),
    (np.ones((4, 4)), np.ones((1, 3, 3)), {}, "kernel must be 2-D"),
    (np.ones((1, 1, 4, 4)), np.ones((3, 3)), {}, r"image must be 2-D \(H, W\) or \(H, W, C\)"),
    (np.ones((4, 4)), np.ones((3, 3)), {"padding": "full"}, "padding must be"),
    (np.ones((4, 4)), np.ones((3, 3)), {"padding": "same", "stride": 2}, "strided"),
    (np.ones((4, 4)), np.ones((3, 3)), {"stride": 0}, "stride must be >= 1"),
    (np.ones((4, 4)), np.ones((0, 3)), {}, "must not be empty"),
])
def test_bad_arguments(image, kernel, kw, msg):
    with pytest.raises(ValueError, match=msg):
        filters.correlate2d(image, kernel, **kw)


def test_non_numeric_image():
    with pytest.raises(TypeError, match="correlate2d: image must hold real numbers"):
        filters.correlate2d(np.array([["a", "b"], ["c", "d"]]), np.ones((1, 1)))


# ---------------------------------------------------------------- image helpers


def test_to_uint8_rules():
    r = np.array([[-4.0, 0.0, 2.0, 300.0]])
    np.testing.assert_array_equal(filters.to_uint8(r, "abs"),
                                  [[round(255 * 4 / 300), 0, round(255 * 2 / 300), 255]])
    np.testing.assert_array_equal(filters.to_uint8(r, "minmax"),
                                  [[0, round(255 * 4 / 304), round(255 * 6 / 304), 255]])
    np.testing.assert_array_equal(filters.to_uint8(r, "clip"), [[0, 0, 2, 255]])
    np.testing.assert_array_equal(filters.to_uint8(np.zeros((2, 2)), "minmax"), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="to_uint8: scaling"):
        filters.to_uint8(r, "log")


def test_load_image_errors_name_the_file(tmp_path):
    missing = tmp_path / "nope.png"
    with pytest.raises(FileNotFoundError, match="nope.png"):
        filters.load_image(missing)
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not an image at all")
    with pytest.raises(ValueError, match="junk.png"):
        filters.load_image(junk)


def test_load_image_grayscale_float(tmp_path):
    from PIL import Image

    arr = (np.arange(12).reshape(3, 4) * 20).astype(np.uint8)
    Image.fromarray(arr).save(tmp_path / "g.png")
    img = filters.load_image(tmp_path / "g.png")
    assert img.dtype == np.float64 and img.shape == (3, 4)
    np.testing.assert_array_equal(img, arr)
    assert filters.load_image(tmp_path / "g.png", mode="RGB").shape == (3, 4, 3)
