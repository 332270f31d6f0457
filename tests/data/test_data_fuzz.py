"""Property-based hostile input to the file readers: random truncations, bit flips and header
mutations of small valid IDX files (raw and gzip) and images (PNG, JPEG) either still read as a
well-formed array or raise ``FileFormatError`` naming the file, never another exception type, in
bounded time; IDX gzip bombs are refused in bounded memory."""
import gzip
import io
import tracemalloc
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from convnet.data.idx import read_idx, write_idx
from convnet.data.images import read_image
from convnet.errors import FileFormatError

FUZZ = settings(max_examples=80, deadline=2000, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


def _valid_idx(tmp_path, gz):
    path = tmp_path / ("valid-idx3-ubyte" + (".gz" if gz else ""))
    write_idx(path, np.random.default_rng(0).integers(0, 256, (6, 5, 4)).astype(np.uint8))
    return path.read_bytes()


def _check_idx(path, blob):
    """Read a mutated file: a FileFormatError naming it, or an array whose size matches the bytes."""
    path.write_bytes(blob)
    try:
        a = read_idx(path)
    except FileFormatError as e:
        assert str(path) in str(e)
        return None
    assert isinstance(a, np.ndarray)
    return a


def _flip(blob, positions):
    b = bytearray(blob)
    for pos in positions:
        b[pos % len(b)] ^= 1 << (pos // len(b) % 8)
    return bytes(b)


@pytest.mark.parametrize("gz", [False, True])
@FUZZ
@given(data=st.data())
def test_idx_truncations_raise(tmp_path, gz, data):
    blob = _valid_idx(tmp_path, gz)
    cut = data.draw(st.integers(0, len(blob) - 1))
    path = tmp_path / "cut-idx.gz"
    assert _check_idx(path, blob[:cut]) is None  # every proper prefix of a valid file is refused


@pytest.mark.parametrize("gz", [False, True])
@FUZZ
@given(positions=st.lists(st.integers(0, 10_000), min_size=1, max_size=4))
def test_idx_bit_flips(tmp_path, gz, positions):
    blob = _valid_idx(tmp_path, gz)
    flipped = _flip(blob, positions)
    a = _check_idx(tmp_path / "flip-idx", flipped)
    if a is not None and not gz:  # a raw file can only survive flips that keep its header consistent
        assert a.nbytes == len(flipped) - 4 - 4 * a.ndim


@pytest.mark.parametrize("gz", [False, True])
@FUZZ
@given(offset=st.integers(0, 15), junk=st.binary(min_size=1, max_size=8))
def test_idx_header_mutations(tmp_path, gz, offset, junk):
    """Overwrite bytes of the 16-byte IDX header (inside the gzip stream for .gz files)."""
    raw = bytearray(_valid_idx(tmp_path, False))
    raw[offset:offset + len(junk)] = junk
    blob = gzip.compress(bytes(raw), mtime=0) if gz else bytes(raw)
    a = _check_idx(tmp_path / "head-idx", blob)
    if a is not None:
        assert a.nbytes == len(raw) - 4 - 4 * a.ndim


def test_idx_gzip_bombs_are_refused_quickly_in_bounded_memory(tmp_path):
    # 1. a 60-byte file whose header declares 10^9 x 28 x 28 images
    declared = tmp_path / "declared-idx3-ubyte.gz"
    declared.write_bytes(gzip.compress(bytes([0, 0, 8, 3]) + b"".join(
        v.to_bytes(4, "big") for v in (10**9, 28, 28))))
    with pytest.raises(FileFormatError, match=rf"{declared} declares shape \(1000000000, 28, 28\)"):
        read_idx(declared)
    # 2. a small header (2 x 28 x 28) followed by 256 MiB of zeros: 250 KB compressed
    stream = tmp_path / "stream-idx3-ubyte.gz"
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    with open(stream, "wb") as f:
        f.write(comp.compress(bytes([0, 0, 8, 3]) + b"".join(v.to_bytes(4, "big") for v in (2, 28, 28))))
        zeros = bytes(1 << 20)
        for _ in range(256):
            f.write(comp.compress(zeros))
        f.write(comp.flush())
    assert stream.stat().st_size < 1 << 20
    tracemalloc.start()
    try:
        with pytest.raises(FileFormatError, match=f"{stream} is corrupt: header says shape .* more data"):
            read_idx(stream)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20  # it never holds the 256 MiB stream


def _valid_image(fmt):
    rng = np.random.default_rng(1)
    img = np.zeros((12, 10), np.uint8)
    img[2:10, 4:6] = 255
    img = np.clip(img.astype(int) + rng.integers(0, 20, img.shape), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, fmt)
    return buf.getvalue()


def _check_image(path, blob):
    path.write_bytes(blob)
    try:
        x = read_image(path)
    except FileFormatError as e:
        assert str(path) in str(e)
        return
    assert x.dtype == np.float32 and x.ndim == 3 and x.shape[0] == 1
    assert np.isfinite(x).all() and x.min() >= 0 and x.max() <= 1


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
@FUZZ
@given(data=st.data())
def test_image_truncations(tmp_path, fmt, data):
    blob = _valid_image(fmt)
    cut = data.draw(st.integers(0, len(blob) - 1))
    _check_image(tmp_path / f"cut.{fmt.lower()}", blob[:cut])


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
@FUZZ
@given(positions=st.lists(st.integers(0, 100_000), min_size=1, max_size=4))
def test_image_bit_flips(tmp_path, fmt, positions):
    _check_image(tmp_path / f"flip.{fmt.lower()}", _flip(_valid_image(fmt), positions))


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
@FUZZ
@given(offset=st.integers(0, 40), junk=st.binary(min_size=1, max_size=8))
def test_image_header_mutations(tmp_path, fmt, offset, junk):
    blob = bytearray(_valid_image(fmt))
    blob[offset:offset + len(junk)] = junk
    _check_image(tmp_path / f"head.{fmt.lower()}", bytes(blob))


def test_missing_files_are_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.png"):
        read_image(tmp_path / "nope.png")
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nope-idx3-ubyte.gz")
