"""What augmentation does: the named augmentations and a grid of originals with augmented versions.

    from convnet.data import preview
    rows = preview.augmentation_grid("mnist", "elastic", n=16, versions=3)   # (4*16, 1, 28, 28) in [0, 1]
    save_image(rows, "grid.png", nrow=16)     # originals in the first row, one augmented version per row below

Backs ``convnet augment``. Each named augmentation is the library transform with the settings shown
in ``AUGMENTATIONS`` (the notes' mirroring, cropping, rotation, shearing, local warping, colour shifting).
"""
from __future__ import annotations

import numpy as np

from . import transforms as T

__all__ = ["AUGMENTATIONS", "make_augmentation", "preview_images", "augmented_versions", "augmentation_grid"]

# name -> (description, factory(train_dataset, (C, H, W)) -> transform)
AUGMENTATIONS = {
    "crop": ("RandomCrop(size, padding=size/8): random shifts", lambda ds, s: T.RandomCrop(s[1:], padding=s[1] // 8)),
    "resized-crop": ("RandomResizedCrop(size, scale=(0.25, 1)): random area and aspect, resized",
                     lambda ds, s: T.RandomResizedCrop(s[1:], scale=(0.25, 1.0))),
    "hflip": ("RandomHorizontalFlip(0.5): mirroring", lambda ds, s: T.RandomHorizontalFlip(0.5)),
    "vflip": ("RandomVerticalFlip(0.5)", lambda ds, s: T.RandomVerticalFlip(0.5)),
    "rotation": ("RandomRotation(20)", lambda ds, s: T.RandomRotation(20)),
    "shear": ("RandomAffine(0, shear=(-20, 20, -20, 20)): shearing along x and y",
              lambda ds, s: T.RandomAffine(0, shear=(-20, 20, -20, 20))),
    "affine": ("RandomAffine(10, translate=(0.08, 0.08), scale=(0.9, 1.1), shear=10)",
               lambda ds, s: T.RandomAffine(10, translate=(0.08, 0.08), scale=(0.9, 1.1), shear=10)),
    "elastic": ("ElasticTransform(alpha=34, sigma=4): Simard's local warping",
                lambda ds, s: T.ElasticTransform(34.0, 4.0)),
    "color-jitter": ("ColorJitter(0.4, 0.4, 0.4, 0.1): brightness, contrast, saturation, hue",
                     lambda ds, s: T.ColorJitter(0.4, 0.4, 0.4, 0.1)),
    "grayscale": ("Grayscale(C)", lambda ds, s: T.Grayscale(s[0])),
    "random-grayscale": ("RandomGrayscale(0.5)", lambda ds, s: T.RandomGrayscale(0.5)),
    "pca-lighting": ("PCALighting(0.1) fitted on the training images: AlexNet's colour shift (RGB only)",
                     lambda ds, s: T.PCALighting.fit(ds, alphastd=0.1, max_images=2000)),
}


def make_augmentation(name, dataset, shape):
    """The transform named ``name`` (a key of ``AUGMENTATIONS``) for images of ``shape`` ``(C, H, W)``."""
    if name not in AUGMENTATIONS:
        raise ValueError(f"unknown augmentation {name!r}; valid names: {', '.join(AUGMENTATIONS)}")
    return AUGMENTATIONS[name][1](dataset, tuple(shape))


def preview_images(dataset, n, seed=0):
    """``n`` images of an ``ImageDataset`` drawn with ``seed``, un-normalised to ``[0, 1]``: ``(n, C, H, W)``."""
    if not 1 <= n <= len(dataset):
        raise ValueError(f"n must be between 1 and the dataset size {len(dataset)}, received {n}")
    idx = np.sort(np.random.default_rng(seed).choice(len(dataset), size=n, replace=False))
    x, _ = dataset.get_batch(idx)
    norm = dataset.normalization
    if norm:
        c = x.shape[1]
        std = np.asarray(norm["std"], np.float32).reshape(1, c, 1, 1)
        x = x * std + np.asarray(norm["mean"], np.float32).reshape(1, c, 1, 1)
    return np.clip(x, 0, 1).astype(np.float32)


def augmented_versions(images, transform, versions=3, seed=0):
    """``(1 + versions) * n`` images: the originals, then ``versions`` augmented copies (rows of ``n``)."""
    rows = [images]
    for v in range(versions):
        rows.append(np.clip(transform(images, generator=np.random.default_rng([seed, v])), 0, 1))
    return np.concatenate(rows).astype(np.float32)


def augmentation_grid(dataset, augmentation, n=16, versions=3, seed=0, root=None, size=None):
    """Originals and augmented versions of ``n`` training images of a named dataset.

    Args:
        dataset: ``digits``, ``mnist``, ``fashion-mnist`` or ``folder`` (then ``root`` is the folder).
        augmentation: a key of ``AUGMENTATIONS``.
        n: images per row; versions: augmented rows below the originals.
        size: image side (default: the dataset's own, 28 for MNIST, 32 for digits, 64 for a folder).

    Returns:
        ``((1 + versions) * n, C, H, W)`` float32 in ``[0, 1]``, row-major: tile it with ``nrow=n``.
    """
    from . import get

    key = dataset.lower().replace("_", "-")
    if not isinstance(n, int) or n < 1 or not isinstance(versions, int) or versions < 1:
        raise ValueError(f"n and versions must be positive integers, received n={n!r}, versions={versions!r}")
    if augmentation not in AUGMENTATIONS:
        raise ValueError(f"unknown augmentation {augmentation!r}; valid names: {', '.join(AUGMENTATIONS)}")
    default = {"digits": 32, "mnist": 28, "fashion-mnist": 28, "folder": 64}.get(key, 32)
    train = get(key, "train", root=root, size=size or default)
    images = preview_images(train, n, seed)
    transform = make_augmentation(augmentation, train, images.shape[1:])
    return augmented_versions(images, transform, versions, seed)
