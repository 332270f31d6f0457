"""Region-of-interest pooling: RoI max pooling (Fast R-CNN) and RoI Align (Mask R-CNN), forward and
backward side by side, with torchvision's exact sampling rules (``torchvision/csrc/ops/cpu/roi_*_kernel.cpp``).

``rois`` is a ``(K, 5)`` array of ``(batch_index, x1, y1, x2, y2)`` in input-image coordinates; each
RoI is scaled by ``spatial_scale`` onto the ``(N, C, H, W)`` feature map and cut into an
``output_size = (PH, PW)`` grid of bins. The output is ``(K, C, PH, PW)``.

* ``roi_pool``: the RoI's corners are rounded to feature-map cells; bin ``(ph, pw)`` covers rows
  ``floor(ph·h/PH) .. ceil((ph+1)·h/PH)`` of it (clipped to the map) and outputs their maximum (0 for
  an empty bin). Maxima are separable, so a bin's maximum is the maximum over its rows of the
  per-row maxima: one masked max over the ``PW`` column ranges, then one over the ``PH`` row ranges
  (taking first maxima both times gives torchvision's scan-order winner).
* ``roi_align``: no rounding; each bin averages ``gh x gw`` bilinear samples. Bilinear sampling on
  a grid is separable too, so the whole RoI is ``A_y @ x[c] @ A_xᵀ`` with ``A_y`` ``(PH, H)`` the
  row weights (averaged over each bin's ``gh`` samples) and ``A_x`` ``(PW, W)`` the column weights.
"""
from __future__ import annotations

import math

from .._backend import array_module
from ..autograd import Function


def _round_half_away(v):
    """C's ``round`` (halves away from zero), which torchvision uses; Python's rounds halves to even."""
    return int(math.floor(abs(v) + 0.5)) * (1 if v >= 0 else -1)


def roi_pool_bins(roi, spatial_scale, size, output_size):
    """Row and column ranges of every bin of one RoI: ``([(h0, h1)] * PH, [(w0, w1)] * PW)``,
    clipped to the ``size = (H, W)`` map (an empty range means an empty bin)."""
    x1, y1, x2, y2 = (_round_half_away(float(v) * spatial_scale) for v in roi[1:5])
    ranges = []
    for start, end, n, bins in ((y1, y2, size[0], output_size[0]), (x1, x2, size[1], output_size[1])):
        length = max(end - start + 1, 1)  # the rounded RoI always covers at least one cell
        step = length / bins
        ranges.append([(min(max(math.floor(i * step) + start, 0), n),
                        min(max(math.ceil((i + 1) * step) + start, 0), n)) for i in range(bins)])
    return ranges


class RoIPool(Function):
    """Max over each bin of each RoI.

    Backward:
        dL/dx[argmax] += dL/dy: each output sends its gradient to the one input cell that won its bin.
    """

    def forward(self, x, rois, output_size=(7, 7), spatial_scale=1.0):
        xp = array_module(x)
        N, C, H, W = x.shape
        PH, PW = output_size
        K = rois.shape[0]
        out = xp.zeros((K, C, PH, PW), x.dtype)
        argmax = xp.full((K, C, PH, PW), -1, xp.int64)  # flat index h * W + w into the map; -1: empty bin
        ci, pi = xp.arange(C)[:, None, None], xp.arange(PW)[None, None, :]
        for k in range(K):
            rows, cols = roi_pool_bins(rois[k], spatial_scale, (H, W), (PH, PW))
            hmask = xp.asarray([[h0 <= h < h1 for h in range(H)] for h0, h1 in rows])   # (PH, H)
            wmask = xp.asarray([[w0 <= w < w1 for w in range(W)] for w0, w1 in cols])   # (PW, W)
            plane = x[int(rois[k, 0])]                                                   # (C, H, W)
            # per row, the first maximum inside each column range: (C, H, 1, W) masked to (C, H, PW, W)
            v = xp.where(wmask[None, None], plane[:, :, None, :], -xp.inf)
            col_arg = v.argmax(axis=3)                                                   # (C, H, PW)
            col_max = xp.take_along_axis(v, col_arg[..., None], axis=3)[..., 0]         # (C, H, PW)
            # then the first row reaching the maximum inside each row range: (C, PH, H, PW)
            u = xp.where(hmask[None, :, :, None], col_max[:, None, :, :], -xp.inf)
            h = u.argmax(axis=2)                                                         # (C, PH, PW)
            w = col_arg[ci, h, pi]                                                       # (C, PH, PW)
            empty = ~(hmask.any(axis=1)[:, None] & wmask.any(axis=1)[None, :])           # (PH, PW)
            out[k] = xp.where(empty, 0, plane[ci, h, w])
            argmax[k] = xp.where(empty, -1, h * W + w)
        self.argmax, self.rois_batch, self.x_shape = argmax, rois[:, 0].astype(xp.int64), x.shape
        return out

    def backward(self, grad_out):
        # dL/dx: scatter-add each bin's upstream gradient at the input cell that was its maximum
        xp = array_module(grad_out)
        N, C, H, W = self.x_shape
        grad = xp.zeros((N, C, H * W), grad_out.dtype)
        K, _, PH, PW = grad_out.shape
        valid = self.argmax >= 0                                            # (K, C, PH, PW)
        kk, cc = xp.nonzero(valid)[:2]
        b = self.rois_batch[kk]
        xp.add.at(grad, (b, cc, self.argmax[valid]), grad_out[valid])
        return grad.reshape(N, C, H, W), None


def roi_align_weights(xp, roi, spatial_scale, size, output_size, sampling_ratio, aligned, dtype):
    """``(A_y (PH, H), A_x (PW, W))``: bilinear weights of one RoI, averaged over each bin's samples.

    torchvision's rule: the RoI ``[x1·s - o, x2·s - o]`` (``o = 0.5`` when ``aligned``; without it the
    size is at least 1), ``g = sampling_ratio`` or ``ceil(roi_size / bins)`` samples per bin side at
    ``start + p·bin + (i + 0.5)·bin/g``; a sample outside ``[-1, n]`` contributes 0, one below 0 is
    moved to 0, one at or past ``n - 1`` reads the last cell.
    """
    offset = 0.5 if aligned else 0.0
    mats = []
    for lo, hi, n, bins in ((roi[2], roi[4], size[0], output_size[0]), (roi[1], roi[3], size[1], output_size[1])):
        start, end = float(lo) * spatial_scale - offset, float(hi) * spatial_scale - offset
        length = end - start if aligned else max(end - start, 1.0)
        bin_size = length / bins
        g = sampling_ratio if sampling_ratio > 0 else math.ceil(length / bins)
        A = xp.zeros((bins, n), dtype)
        if g <= 0:
            mats.append((A, 0))
            continue
        p = xp.repeat(xp.arange(bins), g)                                   # (bins*g,) bin of each sample
        i = xp.tile(xp.arange(g), bins)                                     # (bins*g,) sample within the bin
        pos = start + p * bin_size + (i + 0.5) * bin_size / g
        ok = (pos >= -1.0) & (pos <= n)
        pos = xp.where(pos <= 0, 0.0, pos)
        low = pos.astype(xp.int64)
        last = low >= n - 1
        low = xp.where(last, n - 1, low)
        high = xp.where(last, n - 1, low + 1)
        pos = xp.where(last, low, pos)
        frac = pos - low
        wl, wh = (1.0 - frac) * ok, frac * ok
        xp.add.at(A, (p, low), wl)
        xp.add.at(A, (p, high), wh)
        mats.append((A / g, g))
    (Ay, gy), (Ax, gx) = mats
    if gy * gx == 0:  # torchvision divides the (empty) sum by max(count, 1): an all-zero output
        Ay = Ay * 0
    return Ay, Ax


class RoIAlign(Function):
    """Average of bilinear samples over each bin of each RoI: ``y[k, c] = A_y @ x[b, c] @ A_xᵀ``.

    Backward:
        dL/dx[b, c] += A_yᵀ @ dL/dy[k, c] @ A_x (the transpose of the sampling, per RoI).
    """

    def forward(self, x, rois, output_size=(7, 7), spatial_scale=1.0, sampling_ratio=-1, aligned=False):
        xp = array_module(x)
        N, C, H, W = x.shape
        K = rois.shape[0]
        out = xp.zeros((K, C) + tuple(output_size), x.dtype)
        self.weights = []
        for k in range(K):
            b = int(rois[k, 0])
            Ay, Ax = roi_align_weights(xp, rois[k], spatial_scale, (H, W), output_size, sampling_ratio,
                                       aligned, x.dtype)
            out[k] = Ay @ x[b] @ Ax.T                                       # (PH, H) @ (C, H, W) @ (W, PW)
            self.weights.append((b, Ay, Ax))
        self.x_shape = x.shape
        return out

    def backward(self, grad_out):
        xp = array_module(grad_out)
        grad = xp.zeros(self.x_shape, grad_out.dtype)
        for k, (b, Ay, Ax) in enumerate(self.weights):
            grad[b] += Ay.T @ grad_out[k] @ Ax                              # (H, PH) @ (C, PH, PW) @ (PW, W)
        return grad, None


def roi_pool(x, rois, output_size, spatial_scale=1.0):
    """RoI max pooling of Tensor ``x`` ``(N, C, H, W)`` over Tensor ``rois`` ``(K, 5)`` (arguments
    checked by :mod:`convnet.vision.ops`)."""
    return RoIPool.apply(x, rois, output_size=tuple(output_size), spatial_scale=float(spatial_scale))


def roi_align(x, rois, output_size, spatial_scale=1.0, sampling_ratio=-1, aligned=False):
    """RoI Align of Tensor ``x`` ``(N, C, H, W)`` over Tensor ``rois`` ``(K, 5)``."""
    return RoIAlign.apply(x, rois, output_size=tuple(output_size), spatial_scale=float(spatial_scale),
                          sampling_ratio=int(sampling_ratio), aligned=bool(aligned))


__all__ = ["RoIPool", "RoIAlign", "roi_pool", "roi_align"]
