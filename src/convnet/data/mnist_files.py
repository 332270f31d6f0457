"""MNIST and Fashion-MNIST: find the IDX files locally, or download them once with SHA-256 checks.

Where the files are looked for, in order (first complete set wins):

1. ``root`` (the ``--data-dir`` option), then 2. ``$CONVNET_DATA``, then 3. the cache directory
   ``$XDG_CACHE_HOME/convnet`` (default ``~/.cache/convnet``).

In each, the four ``.gz`` files may sit in ``<dir>/mnist/`` (``<dir>/fashion-mnist/``) or directly
in ``<dir>``. If none has them and ``download=True``, they are fetched from the official mirrors
into ``<root>/<name>/`` (or the cache when no root is given), verified against the SHA-256 table
below, and moved into place atomically. The data are never copied into the repository.

Licences: MNIST (Yann LeCun and Corinna Cortes) CC BY-SA 3.0; Fashion-MNIST (Zalando SE) MIT.
"""
from __future__ import annotations

import hashlib
import os
import tempfile

import numpy as np

from ..errors import FileFormatError
from .dataset import ImageDataset
from .idx import IMAGES_MAGIC, LABELS_MAGIC, read_idx

__all__ = ["mnist", "fashion_mnist", "load_idx_dataset", "download", "find_files", "DatasetNotFoundError",
           "SOURCES", "cache_dir"]

SOURCES = {
    "mnist": {
        "mirrors": ["https://ossci-datasets.s3.amazonaws.com/mnist/",
                    "http://yann.lecun.com/exdb/mnist/"],
        "sha256": {
            "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        },
        "classes": [str(k) for k in range(10)],
        # mean / std of the 28x28 training pixels scaled to [0, 1]
        "mean": 0.1307, "std": 0.3081,
        "licence": "CC BY-SA 3.0 (Yann LeCun and Corinna Cortes)",
    },
    "fashion-mnist": {
        "mirrors": ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"],
        "sha256": {
            "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
            "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
            "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
            "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        },
        "classes": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
                    "Bag", "Ankle boot"],
        "mean": 0.2860, "std": 0.3530,
        "licence": "MIT (Copyright (c) 2017 Zalando SE)",
    },
}
_SPLIT_PREFIX = {"train": "train", "test": "t10k"}
_cache = {}


class DatasetNotFoundError(FileNotFoundError):
    """The dataset files are not on this machine and could not be downloaded."""


def cache_dir():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "convnet")


def _search_dirs(name, root):
    bases = [b for b in (root, os.environ.get("CONVNET_DATA")) if b]
    dirs = []
    for b in bases:
        b = os.path.expanduser(os.fspath(b))
        dirs += [os.path.join(b, name), b]
    dirs.append(os.path.join(cache_dir(), name))
    return dirs


def _file_names(split):
    p = _SPLIT_PREFIX[split]
    return f"{p}-images-idx3-ubyte.gz", f"{p}-labels-idx1-ubyte.gz"


def find_files(name, split, root=None):
    """Paths ``(images, labels)`` of ``split`` in the first search directory holding both, else None.

    Uncompressed copies (the same names without ``.gz``) are accepted too.
    """
    for d in _search_dirs(name, root):
        found = []
        for fname in _file_names(split):
            for cand in (fname, fname[:-3]):
                if os.path.isfile(os.path.join(d, cand)):
                    found.append(os.path.join(d, cand))
                    break
        if len(found) == 2:
            return tuple(found)
    return None


def download(url, dest, sha256, timeout=30):
    """Fetch ``url`` to ``dest`` atomically, checking its SHA-256; a mismatch leaves no file behind.

    Raises:
        ValueError: the downloaded bytes do not have the expected checksum.
        OSError: network or file-system failure (``urllib.error.URLError`` is an ``OSError``).
    """
    import urllib.request

    folder = os.path.dirname(os.path.abspath(dest))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".download-", suffix=".part")
    try:
        h = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            while chunk := resp.read(1 << 20):
                h.update(chunk)
                out.write(chunk)
        if h.hexdigest() != sha256:
            raise ValueError(f"download: checksum mismatch for {url}: expected SHA-256 {sha256}, "
                             f"received {h.hexdigest()}; the file was discarded")
        os.replace(tmp, dest)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return dest


def _download_split(name, split, root):
    target = os.path.join(os.path.expanduser(os.fspath(root)), name) if root else os.path.join(cache_dir(), name)
    src = SOURCES[name]
    errors = []
    for fname in _file_names(split):
        dest = os.path.join(target, fname)
        if os.path.isfile(dest):
            continue
        for mirror in src["mirrors"]:
            try:
                download(mirror + fname, dest, src["sha256"][fname])
                break
            except (OSError, ValueError) as e:
                errors.append(f"{mirror + fname}: {e}")
        else:
            raise OSError("; ".join(errors))
    return find_files(name, split, root)


def _not_found(name, split, root, reason):
    dirs = _search_dirs(name, root)
    files = ", ".join(_file_names(split))
    return DatasetNotFoundError(
        f"{name}: the {split} files ({files}) were not found in any of: {', '.join(dirs)}"
        f"{'; ' + reason if reason else ''}. Put the four {name} .gz files in DIR/{name}/ and set "
        f"CONVNET_DATA=DIR or pass --data-dir DIR (root=DIR in Python), or run once with network access "
        "to download them into the cache.")


def load_idx_dataset(name, split="train", root=None, download=True):
    """Raw arrays ``(images (N, 28, 28) uint8, labels (N,) uint8)`` of MNIST-format dataset ``name``."""
    if name not in SOURCES:
        raise ValueError(f"load_idx_dataset: name must be one of {', '.join(SOURCES)}; received {name!r}")
    if split not in _SPLIT_PREFIX:
        raise ValueError(f"{name}: split must be 'train' or 'test', received {split!r}")
    paths = find_files(name, split, root)
    if paths is None:
        if not download:
            raise _not_found(name, split, root, "download=False")
        try:
            paths = _download_split(name, split, root)
        except OSError as e:
            raise _not_found(name, split, root, f"downloading failed ({e})") from None
    key = tuple((p, os.path.getmtime(p), os.path.getsize(p)) for p in paths)
    if key not in _cache:
        images = read_idx(paths[0], IMAGES_MAGIC, (None, 28, 28))
        labels = read_idx(paths[1], LABELS_MAGIC, (None,))
        if len(images) != len(labels):
            raise FileFormatError(f"{name}: {paths[0]} holds {len(images)} images but {paths[1]} holds "
                                  f"{len(labels)} labels")
        if labels.size and labels.max() > 9:
            raise FileFormatError(f"{name}: {paths[1]} has label {labels.max()}, expected labels 0..9")
        _cache.clear()  # keep at most one split in memory
        _cache[key] = (images, labels)
    return _cache[key]


def _dataset(name, split, root, download, pad, normalize):
    images, labels = load_idx_dataset(name, split, root, download)
    src = SOURCES[name]
    return ImageDataset(images[:, None], labels, mean=[src["mean"]] if normalize else None,
                        std=[src["std"]] if normalize else None, pad=pad, classes=src["classes"], name=name)


def mnist(split="train", root=None, download=True, pad=0, normalize=True):
    """MNIST handwritten digits: 60,000 train / 10,000 test images, 28x28 (``+ 2*pad``), labels 0-9.

    Args:
        split: ``"train"`` or ``"test"``.
        root: directory to look in first (see the module docstring for the search order).
        download: fetch missing files from the official mirrors (SHA-256 verified).
        pad: zero pixels added on each side; ``pad=2`` gives LeNet-5's 32x32 input.
        normalize: ``(x/255 - 0.1307) / 0.3081``, the usual MNIST training statistics.

    Returns:
        ``ImageDataset`` (images stored as uint8 and converted per batch).
    """
    return _dataset("mnist", split, root, download, pad, normalize)


def fashion_mnist(split="train", root=None, download=True, pad=0, normalize=True):
    """Fashion-MNIST (Zalando): like ``mnist`` with 10 clothing classes; normalised with 0.2860 / 0.3530."""
    return _dataset("fashion-mnist", split, root, download, pad, normalize)


def _stats(name, root=None):  # pragma: no cover - used once to derive the constants above
    x = load_idx_dataset(name, "train", root)[0].astype(np.float64) / 255
    return x.mean(), x.std()
