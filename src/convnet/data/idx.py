"""Reader for the IDX format of MNIST and Fashion-MNIST (optionally gzip-compressed).

Layout: a big-endian header ``0x00 0x00 <type> <ndim>`` then ``ndim`` unsigned 32-bit sizes, then
the data row-major. MNIST image files have magic 2051 (``0x00000803``: uint8, 3 dims N, rows,
cols) and label files 2049 (``0x00000801``: uint8, 1 dim N).
"""
from __future__ import annotations

import gzip
import os
import zlib

import numpy as np

__all__ = ["read_idx", "write_idx", "IMAGES_MAGIC", "LABELS_MAGIC"]

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049
_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
          0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def _read_bytes(path):
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as e:
        raise ValueError(f"read_idx: {path} is a truncated or corrupt gzip file ({e}); delete it and "
                         "download it again") from None


def read_idx(path, expected_magic=None, expected_dims=None):
    """Read an IDX file (``.gz`` or plain) into a NumPy array.

    Args:
        path: the file.
        expected_magic: e.g. 2051 for images or 2049 for labels; anything else is an error.
        expected_dims: optional sizes to check, with None for "any", e.g. ``(None, 28, 28)``.

    Returns:
        array of shape given by the header (``(N, 28, 28)`` uint8 for MNIST images).

    Raises:
        ValueError naming ``path`` when the file is truncated, corrupt, or not what was expected.
    """
    path = os.fspath(path)
    data = _read_bytes(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _TYPES:
        raise ValueError(f"read_idx: {path} is not an IDX file (its first bytes {data[:4].hex()} are not an "
                         "IDX magic number 0x0000TTDD)")
    magic = int.from_bytes(data[:4], "big")
    if expected_magic is not None and magic != expected_magic:
        raise ValueError(f"read_idx: {path} has magic number {magic}, expected {expected_magic} "
                         f"({'images' if expected_magic == IMAGES_MAGIC else 'labels'} file)")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"read_idx: {path} is truncated: {len(data)} bytes, shorter than its {header}-byte header")
    dims = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    if expected_dims is not None:
        if len(expected_dims) != ndim or any(e is not None and e != d for e, d in zip(expected_dims, dims)):
            raise ValueError(f"read_idx: {path} holds an array of shape {dims}, expected "
                             f"{tuple('N' if e is None else e for e in expected_dims)}")
    dtype = np.dtype(_TYPES[data[2]])
    need = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    have = len(data) - header
    if have != need:
        raise ValueError(f"read_idx: {path} is {'truncated' if have < need else 'corrupt'}: header says shape "
                         f"{dims} ({need} data bytes) but the file has {have} data bytes")
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(dims).astype(dtype.newbyteorder("="))


def write_idx(path, array):
    """Write ``array`` (uint8) as an IDX file, gzip-compressed if ``path`` ends in ``.gz`` (for tests)."""
    a = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, a.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in a.shape)
    payload = header + a.tobytes()
    opener = gzip.open if os.fspath(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(payload)
