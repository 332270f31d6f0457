"""Stride-1 convolution forward as shifted GEMMs: one accumulating matrix product per kernel tap, no im2col.

Flatten one zero-padded image to ``(C, P)`` with ``P = prod(padded spatial size)``. For a
stride-1 convolution, output position ``i`` read through tap ``t`` is padded pixel
``i' + off_t`` where ``i'`` is ``i``'s index on the padded grid and ``off_t`` the tap's flat
offset. Computing the output on the padded grid's row pitch (``L_f`` positions, a few of them
junk past each row's end) turns every tap into a *contiguous* slice of the flat image::

    y_full (O, L_f) = Σ_t  W_t (O, C) · x_flat[:, off_t : off_t + L_f]

and BLAS reads those slices in place (leading dimension = ``P``), so the 9x im2col copy of a
3x3 conv disappears; the junk columns are cropped. The input gradient of a stride-1 "same"
conv is itself such a conv (of ``grad_out`` with the flipped kernel, see :mod:`.conv`), so it
takes this path too. The slow reference is :mod:`.conv_ref`; the general kernels (any stride,
and the weight gradient) are im2col + GEMM in :mod:`.conv`.

When it pays (1 thread, batch 8, forward ms im2col -> shifted): 64->64 on 32x32 15.7 -> 13.1,
64 on 56x56 21.5 -> 16.7, 128 on 32x32 23.8 -> 20.9; it loses with fewer than 64 channels per
group (per-tap GEMMs with K = 16 or 32 run at a third of BLAS speed: 16->16 on 32x32 1.95 ->
2.55) or small images (64 on 16x16 2.0 -> 2.4: few positions per GEMM), hence the thresholds.
A shifted weight gradient (per-tap ``gy_full · x_flatᵀ``, K = L_f) measured 20% slower than
im2col's single GEMM on 64->64 32x32, so it is not used.
"""
from __future__ import annotations

import itertools
import math

from ._blas import gemm, has_blas

# Smallest channels per group for which per-tap GEMMs (K = C/G) beat one im2col GEMM.
MIN_CHANNELS = 64
# Fewest positions per GEMM (L_f, output rows x padded row pitch) for which they beat it.
MIN_POSITIONS = 512
# Largest padded-row overhead (computed junk positions / useful positions) accepted.
MAX_WASTE = 1.35
MAX_WASTE_GRAD = 1.5


class Geometry:
    """Flat-offset bookkeeping of a stride-1 conv on one zero-padded image.

    ``padded`` (P_1..P_n), ``out`` (o_1..o_n), ``offsets`` (one per tap, in weight order),
    ``full`` (L_f = o_1 · P_2 ⋯ P_n, the output computed on the padded row pitch) and
    ``length`` (P + the tail that the last tap reads past the image)."""

    def __init__(self, spatial, kernel, padding, dilation):
        self.spatial, self.padding = tuple(spatial), list(padding)
        self.padded = tuple(n + b + a for n, (b, a) in zip(spatial, padding))
        self.out = tuple(p - d * (k - 1) for p, k, d in zip(self.padded, kernel, dilation))
        pitch = [math.prod(self.padded[i + 1:]) for i in range(len(self.padded))]
        self.offsets = [sum(t * d * s for t, d, s in zip(tap, dilation, pitch))
                        for tap in itertools.product(*(range(k) for k in kernel))]
        self.full = self.out[0] * pitch[0]
        self.length = math.prod(self.padded) + sum((k - 1) * d * s for k, d, s
                                                   in zip(kernel[1:], dilation[1:], pitch[1:]))
        self.waste = math.prod(self.padded[1:]) / max(1, math.prod(self.out[1:]))

    def interior(self, flat):
        """View of the unpadded image inside flat padded buffers (..., length) -> (..., *S)."""
        lead = flat.shape[:-1]
        img = flat[..., :math.prod(self.padded)].reshape(lead + self.padded)  # (..., P) -> (..., *P)
        return img[(Ellipsis,) + tuple(slice(b, b + n) for n, (b, _) in zip(self.spatial, self.padding))]

    def on_grid(self, full):
        """View of the real outputs inside row-pitch results (..., L_f) -> (..., *out)."""
        grid = full.reshape(full.shape[:-1] + (self.out[0],) + self.padded[1:])  # (..., L_f) -> (..., o_1, P_2, ...)
        return grid[(Ellipsis, slice(None)) + tuple(slice(0, o) for o in self.out[1:])]


def applies(xp, dtype, spatial, kernel, stride, padding, dilation, channels, out_channels, groups):
    """Whether the shifted-GEMM kernels serve this conv better than im2col + GEMM."""
    if any(s != 1 for s in stride) or math.prod(kernel) == 1 or xp.__name__ != "numpy":
        return False
    if channels // groups < MIN_CHANNELS or out_channels // groups < MIN_CHANNELS:
        return False
    if any(p - d * (k - 1) <= 0 for p, k, d in zip((n + b + a for n, (b, a) in zip(spatial, padding)),
                                                    kernel, dilation)):
        return False
    geo = Geometry(spatial, kernel, padding, dilation)
    return geo.waste <= MAX_WASTE and geo.full >= MIN_POSITIONS and has_blas(dtype)


def input_grad_applies(xp, stride, kernel, geo):
    """Whether the flat scatter-add (:func:`input_grad_chunk`) serves a stride-1 input gradient:
    any channel count, as long as the junk columns stay few (LeNet-5's C3: 14/10)."""
    return (xp.__name__ == "numpy" and all(s == 1 for s in stride) and math.prod(kernel) > 1
            and all(o > 0 for o in geo.out) and geo.waste <= MAX_WASTE_GRAD)


def input_grad_chunk(xp, grad_out, weight, groups, geo, gx, sl):
    """``gx[sl]`` for a stride-1 conv: ``gcols = Wᵀ · gy_full`` on the padded row pitch, then one
    scatter-add per tap of a *contiguous* run of ``L_f`` columns onto the flat padded image
    (per-image col2im adds runs of only ``W_out`` floats: LeNet-5's C3 5.7 -> 2.4 ms, 1 thread).
    Junk columns of ``gy_full`` are zero, so what they add lands nowhere that matters."""
    O, Cg = weight.shape[:2]
    b, C, T, G = sl.stop - sl.start, Cg * groups, len(geo.offsets), groups
    gfull = xp.zeros((b, O, geo.full), dtype=grad_out.dtype)
    geo.on_grid(gfull)[...] = grad_out[sl]
    wT = weight.reshape(G, O // G, Cg * T).transpose(0, 2, 1)       # (O, C/G, *k) -> (G, C/G·T, O/G)
    gcols = xp.matmul(wT, gfull.reshape(b, G, O // G, geo.full))    # (b, G, C/G·T, L_f)
    gcols = gcols.reshape(b, C, T, geo.full)                        # rows (g, c, t) -> (b, C, T, L_f)
    flat = xp.zeros((b, C, geo.length), dtype=grad_out.dtype)
    for t, off in enumerate(geo.offsets):
        flat[:, :, off:off + geo.full] += gcols[:, :, t]
    gx[sl] = geo.interior(flat)


def tap_weights(weight, groups):
    """(O, C/G, *k) -> (T, G, O/G, C/G) contiguous: tap t's weight matrix per group."""
    O, Cg = weight.shape[:2]
    w = weight.reshape(groups, O // groups, Cg, -1)                # (O, C/G, *k) -> (G, O/G, C/G, T)
    return w.transpose(3, 0, 1, 2).copy()                          # -> (T, G, O/G, C/G)


def forward_chunk(xp, x, taps, bias, geo, y, sl):
    """``y[sl] = conv(x[sl])`` image by image; x (N, C, *S), taps (T, G, O/G, C/G), y (N, O, *out)."""
    T, G, Og, Cg = taps.shape
    flat = xp.zeros((x.shape[1], geo.length), dtype=x.dtype)       # borders stay zero
    acc = xp.empty((G * Og, geo.full), dtype=x.dtype)
    inner = geo.interior(flat)
    for n in range(sl.start, sl.stop):
        inner[...] = x[n]
        for g in range(G):
            rows, outs = slice(g * Cg, (g + 1) * Cg), slice(g * Og, (g + 1) * Og)
            for t, off in enumerate(geo.offsets):
                gemm(xp, taps[t, g], flat[rows, off:off + geo.full], acc[outs], beta=0.0 if t == 0 else 1.0)
        if bias is None:
            y[n] = geo.on_grid(acc)
        else:
            xp.add(geo.on_grid(acc), bias.reshape((-1,) + (1,) * len(geo.out)), out=y[n])


__all__ = ["Geometry", "applies", "input_grad_applies", "input_grad_chunk", "tap_weights", "forward_chunk"]
