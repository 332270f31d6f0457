"""Reader for the IDX format of MNIST and Fashion-MNIST (optionally gzip-compressed).

Layout: a big-endian header ``0x00 0x00 <type> <ndim>`` then ``ndim`` unsigned 32-bit sizes, then
the data row-major. MNIST image files have magic 2051 (``0x00000803``: uint8, 3 dims N, rows,
cols) and label files 2049 (``0x00000801``: uint8, 1 dim N).

Hostile files are refused in bounded memory: the (possibly gzip) stream is read incrementally,
the magic and the declared sizes are checked first, the data size they imply is compared with
``MAX_IDX_BYTES`` before anything is allocated, and exactly that many bytes are then read; a
stream that is shorter or longer than declared (a gzip bomb behind a small header) or whose gzip
checksum fails is a :class:`~convnet.errors.FileFormatError` naming the file.
"""
from __future__ import annotations

import gzip
import math
import os
import zlib

import numpy as np

from ..errors import FileFormatError

__all__ = ["read_idx", "write_idx", "IMAGES_MAGIC", "LABELS_MAGIC", "MAX_IDX_BYTES"]

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049
MAX_IDX_BYTES = 1 << 30  # 1 GiB of data; MNIST's training images are 47 MB
_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
          0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def _read_exact(f, n, path, what):
    """``n`` bytes of stream ``f`` (fewer only at the end); gzip errors become FileFormatError."""
    try:
        return f.read(n)
    except (EOFError, OSError, zlib.error) as e:
        raise FileFormatError(f"read_idx: {path} is a truncated or corrupt gzip file ({e}) while reading "
                              f"its {what}; delete it and download it again") from None


def read_idx(path, expected_magic=None, expected_dims=None, max_bytes=MAX_IDX_BYTES):
    """Read an IDX file (``.gz`` or plain) into a NumPy array.

    Args:
        path: the file.
        expected_magic: e.g. 2051 for images or 2049 for labels; anything else is an error.
        expected_dims: optional sizes to check, with None for "any", e.g. ``(None, 28, 28)``.
        max_bytes: largest data size accepted (default ``MAX_IDX_BYTES``, 1 GiB).

    Returns:
        array of shape given by the header (``(N, 28, 28)`` uint8 for MNIST images).

    Raises:
        FileNotFoundError: no such file.
        FileFormatError (a ValueError) naming ``path``: truncated, corrupt, oversized, longer than
        its header declares, or not what was expected.
    """
    path = os.fspath(path)
    with open(path, "rb") as raw:
        gz = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
        f = gzip.GzipFile(fileobj=raw, mode="rb") if gz else raw
        return _parse(f, path, expected_magic, expected_dims, max_bytes)


def _parse(f, path, expected_magic, expected_dims, max_bytes):
    head = _read_exact(f, 4, path, "header")
    if len(head) < 4 or head[0] != 0 or head[1] != 0 or head[2] not in _TYPES:
        raise FileFormatError(f"read_idx: {path} is not an IDX file (its first bytes {head[:4].hex()} are not "
                              "an IDX magic number 0x0000TTDD)")
    magic = int.from_bytes(head, "big")
    if expected_magic is not None and magic != expected_magic:
        raise FileFormatError(f"read_idx: {path} has magic number {magic}, expected {expected_magic} "
                              f"({'images' if expected_magic == IMAGES_MAGIC else 'labels'} file)")
    ndim = head[3]
    sizes = _read_exact(f, 4 * ndim, path, "header")
    if len(sizes) < 4 * ndim:
        raise FileFormatError(f"read_idx: {path} is truncated: {4 + len(sizes)} bytes, shorter than its "
                              f"{4 + 4 * ndim}-byte header")
    dims = tuple(int.from_bytes(sizes[4 * i:4 * i + 4], "big") for i in range(ndim))
    if expected_dims is not None:
        if len(expected_dims) != ndim or any(e is not None and e != d for e, d in zip(expected_dims, dims)):
            raise FileFormatError(f"read_idx: {path} holds an array of shape {dims}, expected "
                                  f"{tuple('N' if e is None else e for e in expected_dims)}")
    dtype = np.dtype(_TYPES[head[2]])
    need = math.prod(dims) * dtype.itemsize  # Python ints: no overflow
    if need > max_bytes:
        raise FileFormatError(f"read_idx: {path} declares shape {dims} ({need:,} data bytes), more than the "
                              f"{max_bytes:,}-byte limit; refusing to read it")
    data = _read_exact(f, need, path, "data")
    if len(data) < need:
        raise FileFormatError(f"read_idx: {path} is truncated: header says shape {dims} ({need} data bytes) "
                              f"but the file has {len(data)} data bytes")
    if _read_exact(f, 1, path, "end"):  # also makes gzip verify its CRC and length
        raise FileFormatError(f"read_idx: {path} is corrupt: header says shape {dims} ({need} data bytes) "
                              "but the file holds more data than that")
    return np.frombuffer(data, dtype=dtype).reshape(dims).astype(dtype.newbyteorder("="))


def write_idx(path, array):
    """Write ``array`` (uint8) as an IDX file, gzip-compressed if ``path`` ends in ``.gz`` (for tests)."""
    a = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, a.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in a.shape)
    payload = header + a.tobytes()
    opener = gzip.open if os.fspath(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(payload)
