"""Named training augmentations, one home for ``convnet train --augment NAME`` and ``convnet reproduce``.

``preset(name, dataset)`` builds the batch transform; uncovered pixels get the value of a black pixel in
the dataset's normalisation, so a shifted digit is padded with background, not with grey.

| name | what | from |
|---|---|---|
| ``none`` | nothing | |
| ``crop`` | random shifts by up to 2 pixels (pad 2, crop back) | LeCun-style translations |
| ``crop+flip`` | ``crop`` then a horizontal mirror with probability 1/2 | clothes, photos (not digits) |
| ``affine`` | shifts up to 8%, rotations up to 10 degrees, scaling 0.9-1.1 | |
| ``elastic`` | Simard et al. (2003) elastic distortion, alpha 34, sigma 4 (28x28 digits) | the best MNIST results |
"""
from __future__ import annotations

PRESETS = ("none", "crop", "crop+flip", "affine", "elastic")


def background(dataset):
    """The normalised value of a black pixel (what augmentation fills uncovered areas with)."""
    norm = getattr(dataset, "normalization", None)
    return 0.0 if norm is None else -norm["mean"][0] / norm["std"][0]


def preset(name, dataset):
    """The batch transform ``name`` (one of ``PRESETS``) for images shaped like ``dataset.input_shape``."""
    from . import transforms as T

    fill = background(dataset)
    size = tuple(dataset.input_shape[1:])
    if name in (None, "none", False):
        return None
    if name == "crop":
        return T.RandomCrop(size, padding=2, fill=fill)
    if name == "crop+flip":
        return T.Compose([T.RandomCrop(size, padding=2, fill=fill), T.RandomHorizontalFlip()])
    if name == "affine":
        return T.RandomAffine(degrees=10, translate=(0.08, 0.08), scale=(0.9, 1.1), fill=fill)
    if name == "elastic":
        return T.ElasticTransform(34.0, 4.0, fill=fill)
    raise ValueError(f"augmentation: unknown name {name!r}; valid names: {', '.join(PRESETS)}")
