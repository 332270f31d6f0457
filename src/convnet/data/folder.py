"""Train on a folder of your own images: ``ImageFolder`` and the fixed splits behind ``--dataset folder``.

    root/cat_a/xxx.jpg          classes = sorted sub-folder names -> indices 0, 1, ...
    root/cat_a/yyy.png          (torchvision's ``datasets.ImageFolder`` layout)
    root/cat_b/zzz.jpeg

    ds = ImageFolder("root", transform=transforms.ToTensor())
    x, y = ds[0]                 # x (3, H, W) float32, y an int; ds.classes, ds.class_to_idx, ds.samples

Any format Pillow reads is accepted (files with another extension are ignored). Greyscale, palette
and 16-bit images are converted to RGB; **transparent pixels are composited on white** (torchvision's
``convert("RGB")`` would instead show whatever colour hides under alpha 0, often black). Images over
``images.MAX_IMAGE_PIXELS`` pixels are refused before decoding. A file Pillow cannot read raises a
``FileFormatError`` naming it, or with ``skip_bad=True`` is left out, listed in ``.skipped`` and
reported in one warning.

:func:`folder_splits` turns a folder into the train / validation / test ``ImageDataset``s that
``convnet train --dataset folder --data-dir DIR`` uses: every image read exactly as ``convnet predict``
reads one (``images.read_image`` then ``prepare_image(recipe="resize")``: the whole image resized
to the model's input), a fixed stratified split, and the normalisation computed from the training images.
"""
from __future__ import annotations

import os
import warnings

import numpy as np

from ..errors import FileFormatError
from .dataset import Dataset, ImageDataset

__all__ = ["ImageFolder", "folder_splits", "make_sample_folder", "image_extensions", "GREY_MODES"]

GREY_MODES = ("1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F")


def image_extensions():
    """The file extensions Pillow can open (lower case, with the dot), e.g. ``.jpg``, ``.png``, ``.webp``."""
    from PIL import Image

    Image.init()
    return frozenset(ext for ext, fmt in Image.registered_extensions().items() if fmt in Image.OPEN)


def _open_checked(path):
    """Pillow image with its size checked (``images._open``: FileFormatError naming the file)."""
    from .images import _open

    return _open(path)


def pil_loader(path):
    """Read ``path`` as an RGB PIL image; transparency composited on white. FileFormatError names a bad file."""
    from PIL import Image

    from .images import _UNREADABLE

    img = _open_checked(path)
    try:
        with img:
            img.load()
            if img.mode in ("RGBA", "LA", "La", "RGBa", "PA") or "transparency" in img.info:
                rgba = img.convert("RGBA")
                white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                return Image.alpha_composite(white, rgba).convert("RGB")
            if img.mode.startswith("I") or img.mode == "F":  # 16/32-bit grey: scale by the bit depth first
                from .images import _pixels

                grey = np.rint(_pixels(img)[0][:, :, 0] * 255).astype(np.uint8)
                return Image.fromarray(grey).convert("RGB")
            return img.convert("RGB")
    except _UNREADABLE as e:
        raise FileFormatError(f"cannot read image {path}: not a readable image ({e})") from None


def _check_readable(path):
    """Decode the whole file (header and pixels): FileFormatError naming it when that fails."""
    pil_loader(path).close()


class ImageFolder(Dataset):
    """A folder with one sub-folder of images per class (``torchvision.datasets.ImageFolder``).

    Args:
        root: the folder; each sub-folder (sorted by name) is a class.
        transform: applied to each RGB PIL image (e.g. ``transforms.ToTensor()``).
        target_transform: applied to each int target.
        skip_bad: decode every file up front and leave out the unreadable ones (listed in
            ``.skipped`` as ``(path, message)``, with one warning); otherwise a non-image file is
            refused here and a corrupt one when it is read, with a ``FileFormatError`` naming it.

    Attributes:
        classes: sorted class names; ``class_to_idx``: name -> index.
        samples (also ``imgs``): ``(path, class_index)`` in class then file-name order.
        targets: the class index of every sample.
        skipped: the files left out with ``skip_bad=True``.
    """

    def __init__(self, root, transform=None, target_transform=None, skip_bad=False):
        self.root = os.path.expanduser(os.fspath(root))
        self.transform, self.target_transform = transform, target_transform
        if not os.path.isdir(self.root):
            raise FileNotFoundError(f"ImageFolder: {self.root}: no such directory")
        self.classes = sorted(e.name for e in os.scandir(self.root) if e.is_dir() and not e.name.startswith("."))
        if not self.classes:
            raise FileNotFoundError(f"ImageFolder: no class folders in {self.root} (expected one sub-folder of "
                                    "images per class)")
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}
        exts = image_extensions()
        self.samples, self.skipped = [], []
        for c in self.classes:
            for dirpath, dirnames, filenames in sorted(os.walk(os.path.join(self.root, c), followlinks=True)):
                dirnames.sort()
                for name in sorted(filenames):
                    path = os.path.join(dirpath, name)
                    if name.startswith(".") or os.path.splitext(name)[1].lower() not in exts:
                        continue
                    try:
                        _check_readable(path) if skip_bad else _open_checked(path).close()
                    except FileFormatError as e:
                        if not skip_bad:
                            raise
                        self.skipped.append((path, str(e)))
                        continue
                    self.samples.append((path, self.class_to_idx[c]))
        if self.skipped:
            warnings.warn(f"ImageFolder: skipped {len(self.skipped)} unreadable file(s) in {self.root}, e.g. "
                          f"{self.skipped[0][1]}", stacklevel=2)
        if not self.samples:
            raise FileNotFoundError(f"ImageFolder: no readable images in the class folders of {self.root} "
                                    f"(extensions Pillow reads, e.g. .png .jpg)")
        self.imgs = self.samples
        self.targets = [t for _, t in self.samples]

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, index):
        path, target = self.samples[index]
        img = pil_loader(path)
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __repr__(self):
        return (f"Dataset ImageFolder\n    Number of datapoints: {len(self)}\n    Root location: {self.root}\n"
                f"    Classes: {len(self.classes)}" + (f"\n    Skipped: {len(self.skipped)}" if self.skipped else ""))


def _channels(paths):
    """1 when every image is greyscale, else 3."""
    for p in paths:
        with _open_checked(p) as img:
            if img.mode not in GREY_MODES and not (img.mode == "P" and _grey_palette(img)):
                return 3
    return 1


def _grey_palette(img):
    pal = np.asarray(img.getpalette() or [], np.int64).reshape(-1, 3)
    return bool(len(pal)) and bool((pal == pal[:, :1]).all())


def _stratified(labels, val_fraction, test_fraction, seed, classes):
    rng = np.random.default_rng(seed)
    parts = {"train": [], "val": [], "test": []}
    for k, name in enumerate(classes):
        idx = rng.permutation(np.flatnonzero(labels == k))
        n = len(idx)
        n_val, n_test = max(1, round(val_fraction * n)), max(1, round(test_fraction * n))
        if n - n_val - n_test < 1:
            raise ValueError(f"folder dataset: class {name!r} has {n} image(s); at least 3 are needed (one each "
                             "for training, validation and test)")
        parts["val"].append(idx[:n_val])
        parts["test"].append(idx[n_val:n_val + n_test])
        parts["train"].append(idx[n_val + n_test:])
    return {s: np.sort(np.concatenate(v)) for s, v in parts.items()}


def folder_splits(root, size=32, channels=None, val_fraction=0.15, test_fraction=0.15, seed=0):
    """``{"train", "val", "test"}`` ``ImageDataset``s of the images under ``root`` (see the module docstring).

    Args:
        root: an ``ImageFolder`` directory (unreadable files are skipped with a warning).
        size: side of the square images the model takes; each whole image is resized to it (bilinear).
        channels: 1 or 3; default 1 if every image is greyscale, else 3.
        val_fraction, test_fraction: share of each class held out (at least one image each), drawn
            once with ``seed``: the same folder always gives the same split.

    The images are stored as uint8; ``normalization`` is the per-channel mean and standard deviation of
    the training images (the same in all three splits, and stored in checkpoints). Each dataset also
    has ``classes``, ``paths`` (the file of each image), ``root`` and ``dark_background = False``.
    """
    from .images import prepare_image, read_image

    folder = ImageFolder(root, skip_bad=True)
    paths = [p for p, _ in folder.samples]
    labels = np.asarray(folder.targets, np.int64)
    c = channels or _channels(paths)
    shape = (c, int(size), int(size))
    x = np.stack([prepare_image(read_image(p, c), shape, "resize", invert="no") for p in paths])  # (N, C, S, S)
    x = np.clip(np.rint(x * 255), 0, 255).astype(np.uint8)
    split = _stratified(labels, val_fraction, test_fraction, seed, folder.classes)
    train = x[split["train"]].astype(np.float64) / 255
    mean = train.mean(axis=(0, 2, 3)).tolist()
    std = np.maximum(train.std(axis=(0, 2, 3)), 1e-3).tolist()
    out = {}
    for s, idx in split.items():
        ds = ImageDataset(x[idx], labels[idx], mean=mean, std=std, classes=folder.classes, name="folder")
        ds.dark_background = False  # photos: `convnet predict` must not invert light images
        ds.root = folder.root
        ds.paths = [paths[i] for i in idx]  # the file behind each image
        out[s] = ds
    return out


def make_sample_folder(root, per_class=40, patch=64, seed=0, flip_fraction=0.3):
    """Write a small two-class photo folder: patches of scikit-learn's ``china.jpg`` and ``flower.jpg``.

    ``root/china/*.jpg`` and ``root/flower/*.png``: ``per_class`` random ``patch`` x ``patch`` crops of
    each photo (``sklearn.datasets.load_sample_images``), a ``flip_fraction`` of them mirrored
    left-right. Returns ``root``. A demonstration dataset for ``ImageFolder`` and ``--dataset folder``.
    """
    import io

    from PIL import Image

    from ..checkpoint import atomic_write

    rng = np.random.default_rng(seed)
    for name, img, ext in zip(("china", "flower"), _sample_photos(), (".jpg", ".png")):
        os.makedirs(os.path.join(root, name), exist_ok=True)
        h, w = img.shape[:2]
        for k in range(per_class):
            top, left = int(rng.integers(0, h - patch + 1)), int(rng.integers(0, w - patch + 1))
            crop = img[top:top + patch, left:left + patch]
            if rng.random() < flip_fraction:
                crop = crop[:, ::-1]
            buf = io.BytesIO()
            Image.fromarray(np.ascontiguousarray(crop)).save(buf, format="JPEG" if ext == ".jpg" else "PNG")
            atomic_write(os.path.join(root, name, f"{name}_{k:03d}{ext}"), buf.getvalue())
    return root


def _sample_photos():
    """scikit-learn's two sample photos as ``(H, W, 3)`` uint8 arrays (china.jpg, flower.jpg).

    Read straight from the installed package (what ``sklearn.datasets.load_sample_images`` reads),
    which avoids importing ``sklearn.datasets`` (seconds).
    """
    import importlib.util

    from PIL import Image

    spec = importlib.util.find_spec("sklearn")
    folder = os.path.join(os.path.dirname(spec.origin), "datasets", "images") if spec and spec.origin else ""
    paths = [os.path.join(folder, f) for f in ("china.jpg", "flower.jpg")]
    if all(os.path.isfile(p) for p in paths):
        out = []
        for p in paths:
            with Image.open(p) as img:
                out.append(np.asarray(img.convert("RGB")))
        return out
    from sklearn.datasets import load_sample_images

    return load_sample_images().images
