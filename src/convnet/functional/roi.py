"""RoI pooling as stateless functions over the primitives of :mod:`convnet.ops.roi` (forward and
backward there). Arguments arrive normalised by :mod:`convnet.vision.ops`, which carries the
torchvision-style interface (boxes as a ``(K, 5)`` tensor or a list of ``(L, 4)`` tensors).
"""
from __future__ import annotations

from ..ops import roi as _roi


def roi_pool(input, rois, output_size, spatial_scale=1.0):
    """RoI max pooling of ``input`` ``(N, C, H, W)`` over ``rois`` ``(K, 5)`` -> ``(K, C, PH, PW)``.

    Backward:
        each output's gradient goes to the one input cell that was its bin's maximum (summed over RoIs);
        the boxes get none.
    """
    return _roi.roi_pool(input, rois, output_size, spatial_scale)


def roi_align(input, rois, output_size, spatial_scale=1.0, sampling_ratio=-1, aligned=False):
    """RoI Align of ``input`` ``(N, C, H, W)`` over ``rois`` ``(K, 5)`` -> ``(K, C, PH, PW)``.

    Backward:
        ``dL/dx[b, c] += A_yᵀ @ dL/dy[k, c] @ A_x``: the bilinear sampling weights, transposed; the boxes
        get none.
    """
    return _roi.roi_align(input, rois, output_size, spatial_scale, sampling_ratio, aligned)


__all__ = ["roi_pool", "roi_align"]
