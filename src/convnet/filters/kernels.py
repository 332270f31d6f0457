"""Named classic image kernels, a parser for hand-written ones, and the Gaussian.

Every kernel is printed here exactly as the notes print it. They are meant for
:func:`~convnet.filters.correlate2d`, i.e. *correlation* (the kernel is not flipped), which
is what a CNN layer computes. ``sobel_x`` then answers positively where the image gets
brighter from left to right, ``sobel_y`` where it gets brighter from bottom to top.

    >>> get_kernel("sobel_x")
    array([[-1.,  0.,  1.],
           [-2.,  0.,  2.],
           [-1.,  0.,  1.]])
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np


def _k(rows, scale=1.0):
    arr = np.array(rows, dtype=np.float64) * scale
    arr.setflags(write=False)  # shared table: callers get copies from get_kernel
    return arr


_GAUSS5 = [[1, 4, 7, 4, 1],
           [4, 16, 26, 16, 4],
           [7, 26, 41, 26, 7],
           [4, 16, 26, 16, 4],
           [1, 4, 7, 4, 1]]

#: Named kernels, shape (kH, kW), float64, read-only. Use :func:`get_kernel` for a copy.
KERNELS = {
    "vertical_edge": _k([[1, 0, -1], [1, 0, -1], [1, 0, -1]]),
    "horizontal_edge": _k([[1, 1, 1], [0, 0, 0], [-1, -1, -1]]),
    "sobel_x": _k([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]),
    "sobel_y": _k([[1, 2, 1], [0, 0, 0], [-1, -2, -1]]),
    "prewitt_x": _k([[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]]),
    "prewitt_y": _k([[1, 1, 1], [0, 0, 0], [-1, -1, -1]]),
    "laplacian": _k([[0, 1, 0], [1, -4, 1], [0, 1, 0]]),
    "edge": _k([[1, 1, 1], [1, -8, 1], [1, 1, 1]]),
    "roberts_x": _k([[1, 0], [0, -1]]),
    "roberts_y": _k([[0, 1], [-1, 0]]),
    "box": _k(np.ones((3, 3)), 1 / 9),
    "gaussian5": _k(_GAUSS5, 1 / 273),
    "sharpen": _k([[0, -1, 0], [-1, 5, -1], [0, -1, 0]]),
}


def _normalize_name(name):
    return str(name).strip().lower().replace("-", "_").replace(" ", "_")


def get_kernel(name):
    """A fresh float64 copy of the named kernel, shape (kH, kW).

    Names are case-insensitive and ``-`` may stand for ``_`` (``"Sobel-X"`` works).

    Raises:
        ValueError: unknown name; the message lists every valid name.
    """
    key = _normalize_name(name)
    if key not in KERNELS:
        raise ValueError(f"get_kernel: unknown kernel {name!r}; valid names: "
                         f"{', '.join(sorted(KERNELS))}")
    return KERNELS[key].copy()


def _parse_number(token, text):
    try:
        return float(Fraction(token)) if "/" in token else float(token)
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"parse_kernel: cannot read {token!r} as a number in kernel {text!r}; "
                         "expected rows separated by ';' and numbers by ',' "
                         "(e.g. \"1,0,-1;1,0,-1;1,0,-1\"; fractions like 1/9 are allowed)") from None


def parse_kernel(text):
    """Parse ``"1,0,-1;1,0,-1;1,0,-1"`` (rows split by ``;``, entries by ``,``) into (kH, kW).

    Whitespace is ignored and entries may be fractions such as ``1/9``.

        >>> parse_kernel("1,2;3,4")
        array([[1., 2.],
               [3., 4.]])

    Raises:
        ValueError: empty text, a non-number, or rows of different lengths.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"parse_kernel: expected a kernel string like \"1,0,-1;1,0,-1;1,0,-1\", "
                         f"got {text!r}")
    rows = [row for row in text.strip().strip(";").split(";")]
    values = [[_parse_number(tok.strip(), text) for tok in row.split(",")] for row in rows]
    widths = {len(r) for r in values}
    if len(widths) != 1:
        raise ValueError(f"parse_kernel: every row needs the same number of entries, got row lengths "
                         f"{[len(r) for r in values]} in {text!r}")
    return np.array(values, dtype=np.float64)


def gaussian_kernel(size=5, sigma=1.0):
    """Sampled 2-D Gaussian ``exp(-(u² + v²) / (2σ²))``, normalised to sum 1, shape (size, size).

    Offsets ``u, v`` are measured from the kernel centre ``(size - 1) / 2``.

        >>> round(float(gaussian_kernel(3, 1.0)[1, 1]), 4)
        0.2042
    """
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"gaussian_kernel: size must be a positive int, got {size!r}")
    if not (isinstance(sigma, (int, float, np.floating)) and math.isfinite(sigma) and sigma > 0):
        raise ValueError(f"gaussian_kernel: sigma must be a positive number, got {sigma!r}")
    u = np.arange(size, dtype=np.float64) - (size - 1) / 2
    g = np.exp(-(u ** 2) / (2.0 * sigma ** 2))
    k = np.outer(g, g)  # (size, size): separable
    return k / k.sum()
