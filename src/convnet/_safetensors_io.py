"""The safetensors format, written and read with bounded memory and strict validation.

Layout (https://github.com/huggingface/safetensors): an 8-byte little-endian header length ``N``,
``N`` bytes of JSON ``{"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets": [begin,
end]}}``, then the tensors' raw little-endian bytes, contiguous, in the order of their offsets.

Reading never trusts the file: the header length is checked against the file size before the
header is read, every entry is checked (dtype known to NumPy, shape of non-negative ints, offsets
that tile the body exactly and match ``prod(shape) * itemsize``) before any tensor is allocated, so
at most ``N + body`` bytes are ever read and allocated. Every problem is a ``FileFormatError``
naming the file. Tensors keep their exact shape (including 0-d ``()``) and dtype.
"""
from __future__ import annotations

import json
import math
import os
import stat

import numpy as np

from .errors import FileFormatError

__all__ = ["DTYPES", "Header", "write", "read_header", "read_tensors", "open_checked"]

MAX_HEADER = 100 * 1024 * 1024  # the safetensors reference implementation's limit
DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
          "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1", "BOOL": "|b1"}
_CODES = {np.dtype(v): k for k, v in DTYPES.items()}
EXPECTED = "expected a convnet checkpoint (.safetensors file written by convnet.save)"


def _code(name, arr):
    code = _CODES.get(arr.dtype.newbyteorder("<") if arr.dtype.byteorder not in "|" else arr.dtype)
    if code is None:
        raise TypeError(f"save: tensor {name!r} has dtype {arr.dtype}, which safetensors cannot store "
                        f"(supported: {', '.join(str(np.dtype(v)) for v in DTYPES.values())})")
    return code


def write(f, arrays, metadata):
    """Write ``arrays`` (name -> ndarray, in order) and ``metadata`` (str -> str) to the binary file ``f``.

    The header lists tensors in the given order; the body stores them widest dtype first so that
    every tensor starts at a multiple of its item size (zero-copy readers need that).
    """
    arrays = {k: np.asarray(v) for k, v in arrays.items()}
    codes = {k: _code(k, a) for k, a in arrays.items()}
    body_order = sorted(arrays, key=lambda k: -arrays[k].dtype.itemsize)  # stable: ties keep insertion order
    offsets, pos = {}, 0
    for k in body_order:
        offsets[k] = [pos, pos + arrays[k].nbytes]
        pos += arrays[k].nbytes
    header = {"__metadata__": dict(metadata)}
    for k, a in arrays.items():
        header[k] = {"dtype": codes[k], "shape": list(a.shape), "data_offsets": offsets[k]}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # pad so that the body starts 8-byte aligned
    f.write(len(text).to_bytes(8, "little"))
    f.write(text)
    for k in body_order:
        a = arrays[k]
        if a.dtype.byteorder == ">":
            a = a.astype(a.dtype.newbyteorder("<"))
        if a.nbytes:
            f.write(memoryview(np.ascontiguousarray(a.reshape(-1))).cast("B"))


class Header:
    """A validated safetensors header: ``metadata`` (dict), ``tensors`` (name -> (dtype, shape, begin, end))."""

    def __init__(self, name, metadata, tensors, body_start, body_size):
        self.name, self.metadata, self.tensors = name, metadata, tensors
        self.body_start, self.body_size = body_start, body_size


def _bad(name, what):
    return FileFormatError(f"{name} is corrupt: {what} ({EXPECTED})")


def open_checked(path):
    """Open ``path`` for reading after checking it is a regular file; returns ``(file, size)``."""
    path = os.fspath(path)
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        raise FileFormatError(f"{path} is not a regular file (a device, pipe or socket); {EXPECTED}")
    f = open(path, "rb")
    size = os.fstat(f.fileno()).st_size
    return f, size


def _torch_hint(name):
    return FileFormatError(
        f"{name} is a PyTorch pickle file (torch.save), which convnet never unpickles because loading it can run "
        f"code. Convert its state_dict once with PyTorch: `from safetensors.torch import save_file; "
        f"save_file(torch.load({name!r}), 'weights.safetensors')`, then "
        f"`model.load_state_dict(convnet.checkpoint.load_state('weights.safetensors'))`")


def _check_entry(name, key, entry):
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        raise _bad(name, f"header entry {key!r} is not {{dtype, shape, data_offsets}}")
    code, shape, offs = entry["dtype"], entry["shape"], entry["data_offsets"]
    if not isinstance(code, str):
        raise _bad(name, f"tensor {key!r} has a dtype that is not a string")
    if code not in DTYPES:
        raise FileFormatError(f"{name}: tensor {key!r} has dtype {code}, which NumPy cannot hold (convnet reads "
                              f"{', '.join(DTYPES)}); convert it to F32 before saving, e.g. tensor.float()")
    ints = lambda v: isinstance(v, list) and all(type(i) is int and i >= 0 for i in v)  # noqa: E731
    if not ints(shape):
        raise _bad(name, f"tensor {key!r} has shape {shape!r}, not a list of non-negative integers")
    if not ints(offs) or len(offs) != 2 or offs[0] > offs[1]:
        raise _bad(name, f"tensor {key!r} has data_offsets {offs!r}, not [begin, end] with begin <= end")
    nbytes = math.prod(shape) * np.dtype(DTYPES[code]).itemsize
    if offs[1] - offs[0] != nbytes:
        raise _bad(name, f"tensor {key!r} of shape {tuple(shape)} and dtype {code} needs {nbytes} bytes but its "
                         f"data_offsets span {offs[1] - offs[0]}")
    return np.dtype(DTYPES[code]), tuple(shape), offs[0], offs[1]


def read_header(f, size, name):
    """Read and validate the header of the open file ``f`` of ``size`` bytes; returns a :class:`Header`."""
    prefix = f.read(9)
    n = int.from_bytes(prefix[:8], "little")
    if prefix[:4] == b"PK\x03\x04":  # torch.save's zip container
        raise _torch_hint(name)
    if len(prefix) < 9 or not 2 <= n <= MAX_HEADER or prefix[8:9] != b"{":
        if prefix[:1] == b"\x80" and prefix[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):  # a raw pickle stream
            raise _torch_hint(name)
        if len(prefix) < 8:
            raise FileFormatError(f"{name} is not a checkpoint: only {len(prefix)} bytes ({EXPECTED})")
        raise FileFormatError(f"{name} is not a checkpoint: it does not start with a safetensors header ({EXPECTED})")
    if 8 + n > size:
        raise FileFormatError(f"{name} is truncated: its header needs {n} bytes but the file has {size - 8} after "
                              f"the length prefix ({EXPECTED})")
    text = prefix[8:] + f.read(n - 1)
    if len(text) != n:
        raise FileFormatError(f"{name} is truncated: its header ended after {len(text)} of {n} bytes ({EXPECTED})")
    try:
        header = json.loads(text)
    except (ValueError, RecursionError):
        raise _bad(name, "its safetensors header is not valid JSON") from None
    if not isinstance(header, dict):
        raise _bad(name, "its safetensors header is not a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise _bad(name, "its __metadata__ is not a mapping of strings to strings")
    tensors = {k: _check_entry(name, k, v) for k, v in header.items()}
    body = size - 8 - n
    pos = 0
    for k, (_, _, begin, end) in sorted(tensors.items(), key=lambda kv: (kv[1][2], kv[1][3])):
        if begin != pos:
            raise _bad(name, f"tensor {k!r} starts at byte {begin} of the data but the previous one ends at {pos}")
        pos = end
    if pos != body:
        kind = "is truncated" if pos > body else "is corrupt"
        raise FileFormatError(f"{name} {kind}: its header declares {pos} bytes of tensor data but the file holds "
                              f"{body} after the header ({EXPECTED})")
    return Header(name, metadata, tensors, 8 + n, body)


def read_tensors(f, header):
    """The tensors of ``header`` read from ``f``: name -> ndarray (header order, exact shapes and dtypes)."""
    out = {}
    for k, (dtype, shape, begin, end) in header.tensors.items():
        raw = np.empty(end - begin, np.uint8)
        f.seek(header.body_start + begin)
        got = f.readinto(memoryview(raw)) if raw.size else 0
        if got != raw.size:
            raise FileFormatError(f"{header.name} is truncated: tensor {k!r} ended after {got} of {raw.size} bytes "
                                  f"(the file changed while being read?)")
        arr = (raw != 0) if dtype.kind == "b" else raw.view(dtype)  # any nonzero byte is True
        if not np.little_endian and dtype.byteorder not in "|=":  # pragma: no cover - big-endian hosts
            arr = arr.astype(dtype.newbyteorder("="))
        out[k] = arr.reshape(shape)
    return out
