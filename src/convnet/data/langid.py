"""langid-gnu: real sentences in 14 languages from free-software message catalogs (``$CONVNET_DATA/langid-gnu``).

Files ``train.tsv.gz`` (56,000 rows) and ``test.tsv.gz`` (11,200 rows), header ``language<TAB>source<TAB>text``,
split by program. Read with bounds (rows, field size, decompressed bytes) so a hostile file cannot exhaust memory.
"""
from __future__ import annotations

import csv
import gzip
import io
import os

import numpy as np

from ..errors import FileFormatError
from .dataset import Dataset

LANGUAGES = ("de", "fr", "es", "it", "pt_BR", "nl", "sv", "pl", "cs", "fi", "da", "ro", "hu", "tr")
MAX_ROWS = 1_000_000
MAX_FIELD = 10_000
MAX_BYTES = 256 * 1024 * 1024


class TextClassification(Dataset):
    """Raw labelled sentences: items ``(text, label)``; attributes ``texts``, ``targets``, ``sources``,
    ``classes``, ``name`` and ``kind = "text"``."""

    kind = "text"
    normalization = None

    def __init__(self, texts, targets, classes, name, sources=None):
        self.texts, self.targets = list(texts), np.asarray(targets, np.int64)
        self.classes, self.name, self.sources = list(classes), name, sources

    def __len__(self):
        return len(self.texts)

    def __getitem__(self, index):
        return self.texts[index], int(self.targets[index])

    def subset(self, indices):
        idx = [int(i) for i in indices]
        return TextClassification([self.texts[i] for i in idx], self.targets[idx], self.classes, self.name,
                                  None if self.sources is None else [self.sources[i] for i in idx])


def read_langid_tsv(path, classes=LANGUAGES, max_rows=MAX_ROWS):
    """Read one langid-gnu ``.tsv.gz`` (or plain ``.tsv``) file -> ``TextClassification``.

    Raises ``FileFormatError`` naming the file for a missing header column, an unknown language, an
    oversized field, too many rows or more than 256 MiB of text.
    """
    opener = gzip.open if str(path).endswith(".gz") else open
    index = {c: i for i, c in enumerate(classes)}
    texts, targets, sources = [], [], []
    try:
        with opener(path, "rb") as raw:
            limited = io.TextIOWrapper(_Limited(raw, MAX_BYTES, path), encoding="utf-8", newline="")
            old = csv.field_size_limit()
            csv.field_size_limit(MAX_FIELD)
            try:
                reader = csv.DictReader(limited, delimiter="\t")
                missing = {"language", "text"} - set(reader.fieldnames or ())
                if missing:
                    raise FileFormatError(f"{path}: not a langid-gnu file: header lacks {sorted(missing)} "
                                          f"(expected language<TAB>source<TAB>text, found {reader.fieldnames})")
                for row in reader:
                    if len(texts) >= max_rows:
                        raise FileFormatError(f"{path}: more than {max_rows} rows")
                    lang, text = row["language"], row["text"]
                    if lang not in index:
                        raise FileFormatError(f"{path}, line {reader.line_num}: unknown language {lang!r}; "
                                              f"expected one of {list(classes)}")
                    if not isinstance(text, str) or not text:
                        raise FileFormatError(f"{path}, line {reader.line_num}: empty text")
                    texts.append(text)
                    targets.append(index[lang])
                    sources.append(row.get("source") or "")
            finally:
                csv.field_size_limit(old)
    except csv.Error as e:
        raise FileFormatError(f"{path}: malformed TSV ({e})") from None
    except (UnicodeDecodeError, gzip.BadGzipFile, EOFError) as e:
        raise FileFormatError(f"{path}: cannot be decoded ({e})") from None
    return TextClassification(texts, targets, classes, "langid-gnu", sources)


class _Limited(io.RawIOBase):
    """A read-only stream that refuses to yield more than ``limit`` bytes (a decompression bomb stops)."""

    def __init__(self, raw, limit, path):
        self.raw, self.left, self.path = raw, limit, path

    def readable(self):
        return True

    def readinto(self, b):
        data = self.raw.read(min(len(b), self.left + 1))
        if len(data) > self.left:
            raise FileFormatError(f"{self.path}: more than {MAX_BYTES // 2 ** 20} MiB of text")
        self.left -= len(data)
        b[:len(data)] = data
        return len(data)


def _find(root):
    """The langid-gnu folder: ``root`` (itself or ``root/langid-gnu``), else ``$CONVNET_DATA/langid-gnu``."""
    candidates = []
    if root is not None:
        root = os.path.expanduser(str(root))
        candidates += [root, os.path.join(root, "langid-gnu")]
    env = os.environ.get("CONVNET_DATA")
    if env:
        candidates.append(os.path.join(env, "langid-gnu"))
    for c in candidates:
        if os.path.isfile(os.path.join(c, "train.tsv.gz")) or os.path.isfile(os.path.join(c, "test.tsv.gz")):
            return c
    from .mnist_files import DatasetNotFoundError

    raise DatasetNotFoundError(f"langid-gnu: no train.tsv.gz/test.tsv.gz found in {candidates or ['(nothing)']}; "
                               "pass root=/--data-dir DIR or set $CONVNET_DATA to the datasets folder")


def langid_gnu(split="train", root=None, limit=None):
    """The langid-gnu sentences of ``split`` (``"train"``: 56,000, ``"test"``: 11,200; 14 languages).

    Args:
        split: ``"train"`` or ``"test"``.
        root: folder holding the files (or its parent); default ``$CONVNET_DATA/langid-gnu``.
        limit: keep only the first ``limit`` rows of each language (balanced, for quick runs).

    Returns:
        ``TextClassification`` with ``texts``, ``targets`` (index into ``classes`` = ``LANGUAGES``), ``sources``.
    """
    if split not in ("train", "test"):
        raise ValueError(f"langid_gnu: split must be 'train' or 'test', received {split!r}")
    ds = read_langid_tsv(os.path.join(_find(root), f"{split}.tsv.gz"))
    if limit is not None:
        ds = ds.subset(np.concatenate([np.flatnonzero(ds.targets == k)[:limit] for k in range(len(ds.classes))]))
    return ds


def langid_splits(root=None, limit=None, val_fraction=0.1, seed=0):
    """``{"train", "val", "test"}``: the test file, and the training file split by a fixed permutation
    (``val_fraction`` of it for validation, seed 0)."""
    full = langid_gnu("train", root, limit)
    perm = np.random.default_rng(seed).permutation(len(full))
    n_val = int(round(len(full) * val_fraction))
    return {"train": full.subset(np.sort(perm[n_val:])), "val": full.subset(np.sort(perm[:n_val])),
            "test": langid_gnu("test", root, limit)}
