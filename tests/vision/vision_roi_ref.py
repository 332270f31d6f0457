"""Slow loop references of RoI pooling, written element by element from torchvision's CPU kernels
(``torchvision/csrc/ops/cpu/roi_pool_kernel.cpp``, ``roi_align_kernel.cpp``)."""
import math

import numpy as np


def c_round(v):
    return math.floor(v + 0.5) if v >= 0 else -math.floor(-v + 0.5)


def roi_pool_ref(x, rois, ph_out, pw_out, scale):
    N, C, H, W = x.shape
    out = np.zeros((len(rois), C, ph_out, pw_out), x.dtype)
    grad_map = {}  # (k, c, ph, pw) -> (b, c, h, w) of the maximum
    for k, r in enumerate(rois):
        b = int(r[0])
        sw, sh, ew, eh = (c_round(v * scale) for v in r[1:])
        rw, rh = max(ew - sw + 1, 1), max(eh - sh + 1, 1)
        bh, bw = rh / ph_out, rw / pw_out
        for c in range(C):
            for ph in range(ph_out):
                for pw in range(pw_out):
                    hs = min(max(math.floor(ph * bh) + sh, 0), H)
                    he = min(max(math.ceil((ph + 1) * bh) + sh, 0), H)
                    ws = min(max(math.floor(pw * bw) + sw, 0), W)
                    we = min(max(math.ceil((pw + 1) * bw) + sw, 0), W)
                    if he <= hs or we <= ws:
                        continue
                    best, arg = -np.inf, None
                    for h in range(hs, he):
                        for w in range(ws, we):
                            if x[b, c, h, w] > best:
                                best, arg = x[b, c, h, w], (b, c, h, w)
                    out[k, c, ph, pw] = best
                    grad_map[(k, c, ph, pw)] = arg
    return out, grad_map


def bilinear(plane, y, x):
    H, W = plane.shape
    if y < -1.0 or y > H or x < -1.0 or x > W:
        return 0.0
    y, x = max(y, 0.0), max(x, 0.0)
    yl, xl = int(y), int(x)
    if yl >= H - 1:
        yh = yl = H - 1
        y = float(yl)
    else:
        yh = yl + 1
    if xl >= W - 1:
        xh = xl = W - 1
        x = float(xl)
    else:
        xh = xl + 1
    ly, lx = y - yl, x - xl
    hy, hx = 1 - ly, 1 - lx
    return hy * hx * plane[yl, xl] + hy * lx * plane[yl, xh] + ly * hx * plane[yh, xl] + ly * lx * plane[yh, xh]


def roi_align_ref(x, rois, ph_out, pw_out, scale, sampling_ratio, aligned):
    N, C, H, W = x.shape
    out = np.zeros((len(rois), C, ph_out, pw_out), x.dtype)
    off = 0.5 if aligned else 0.0
    for k, r in enumerate(rois):
        b = int(r[0])
        sw, sh, ew, eh = r[1] * scale - off, r[2] * scale - off, r[3] * scale - off, r[4] * scale - off
        rw, rh = ew - sw, eh - sh
        if not aligned:
            rw, rh = max(rw, 1.0), max(rh, 1.0)
        bh, bw = rh / ph_out, rw / pw_out
        gh = sampling_ratio if sampling_ratio > 0 else math.ceil(rh / ph_out)
        gw = sampling_ratio if sampling_ratio > 0 else math.ceil(rw / pw_out)
        count = max(gh * gw, 1)
        for c in range(C):
            for ph in range(ph_out):
                for pw in range(pw_out):
                    s = 0.0
                    for iy in range(gh):
                        y = sh + ph * bh + (iy + 0.5) * bh / gh
                        for ix in range(gw):
                            xx = sw + pw * bw + (ix + 0.5) * bw / gw
                            s += bilinear(x[b, c], y, xx)
                    out[k, c, ph, pw] = s / count
    return out
