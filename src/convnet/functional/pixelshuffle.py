"""``pixel_shuffle`` / ``pixel_unshuffle``: rearrange channels into space and back.

Composites of reshape and permute (their backward is the inverse rearrangement).
"""
from __future__ import annotations

import numbers

from .. import ops


def _factor(fn, r):
    if not isinstance(r, numbers.Integral) or isinstance(r, bool) or r < 1:
        raise ValueError(f"{fn}: the factor must be a positive int, got {r!r}")
    return int(r)


def pixel_shuffle(input, upscale_factor):
    """``(*, C r^2, H, W) -> (*, C, H r, W r)``: out[c, h r + i, w r + j] = in[c r^2 + i r + j, h, w].

    Backward:
        dL/dx = pixel_unshuffle(dL/dy): the adjoint of a permutation is its inverse.
    """
    r = _factor("pixel_shuffle", upscale_factor)
    if input.ndim < 3:
        raise ValueError(f"pixel_shuffle: input must have at least 3 dims (*, C, H, W), got shape {input.shape}")
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise ValueError(f"pixel_shuffle: channels ({c}) must be divisible by upscale_factor^2 ({r * r})")
    b, k = len(lead), c // (r * r)
    x = ops.reshape(input, (*lead, k, r, r, h, w))
    x = ops.permute(x, (*range(b), b, b + 3, b + 1, b + 4, b + 2))   # (*, C, H, r, W, r)
    return ops.reshape(x, (*lead, k, h * r, w * r))


def pixel_unshuffle(input, downscale_factor):
    """``(*, C, H r, W r) -> (*, C r^2, H, W)``, the inverse of ``pixel_shuffle``.

    Backward:
        dL/dx = pixel_shuffle(dL/dy): the inverse permutation.
    """
    r = _factor("pixel_unshuffle", downscale_factor)
    if input.ndim < 3:
        raise ValueError(f"pixel_unshuffle: input must have at least 3 dims (*, C, H, W), got shape {input.shape}")
    *lead, c, h, w = input.shape
    if h % r or w % r:
        raise ValueError(f"pixel_unshuffle: height ({h}) and width ({w}) must be divisible by "
                         f"downscale_factor ({r})")
    b = len(lead)
    x = ops.reshape(input, (*lead, c, h // r, r, w // r, r))
    x = ops.permute(x, (*range(b), b, b + 2, b + 4, b + 1, b + 3))   # (*, C, r, r, H/r, W/r)
    return ops.reshape(x, (*lead, c * r * r, h // r, w // r))


__all__ = ["pixel_shuffle", "pixel_unshuffle"]
