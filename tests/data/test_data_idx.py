"""IDX reader and the MNIST / Fashion-MNIST loaders: real files (if $CONVNET_DATA has them), files
generated in tmp_path, corrupt/truncated files, checksum verification and the offline error."""
import gzip
import hashlib
import os

import numpy as np
import pytest

from convnet import data
from convnet.data import mnist_files
from convnet.data.idx import read_idx, write_idx
from convnet.errors import FileFormatError

REAL = os.environ.get("CONVNET_DATA")


def _real_dir(name):
    if not REAL or not os.path.isfile(os.path.join(REAL, name, "t10k-labels-idx1-ubyte.gz")):
        pytest.skip(f"$CONVNET_DATA does not hold {name} (CI sets CONVNET_DATA=../shared/datasets)")
    return REAL


def test_real_mnist_labels_and_shapes():
    root = _real_dir("mnist")
    train = data.mnist("train", root=root, download=False)
    test = data.mnist("test", root=root, download=False, pad=2)
    assert train.labels[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert test.labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert len(train) == 60000 and len(test) == 10000
    x, y = test.get_batch(np.arange(3))
    assert x.shape == (3, 1, 32, 32) and x.dtype == np.float32 and y.tolist() == [7, 2, 1]
    # padding is background: (0 - mean) / std
    assert x[:, :, :2].max() == pytest.approx(-0.1307 / 0.3081, rel=1e-5)
    raw = read_idx(os.path.join(root, "mnist", "t10k-images-idx3-ubyte.gz"), 2051)
    assert raw.shape == (10000, 28, 28) and raw.dtype == np.uint8 and raw.max() == 255


def test_real_fashion_mnist_via_environment(monkeypatch):
    root = _real_dir("fashion-mnist")
    monkeypatch.setenv("CONVNET_DATA", root)
    test = data.fashion_mnist("test", download=False)
    assert np.bincount(test.labels).tolist() == [1000] * 10
    assert test.classes[9] == "Ankle boot"


@pytest.mark.parametrize("suffix", [".gz", ""])
def test_read_idx_roundtrip(tmp_path, rng, suffix):
    a = rng.integers(0, 256, size=(4, 3, 5), dtype=np.uint8)
    path = tmp_path / f"x-idx3-ubyte{suffix}"
    write_idx(path, a)
    assert np.array_equal(read_idx(path, 2051, (None, 3, 5)), a)
    with open(path, "rb") as f:
        head = f.read(2)
    assert (head == b"\x1f\x8b") == (suffix == ".gz")


def _fake_mnist(folder, n=6, rng=None):
    rng = rng or np.random.default_rng(0)
    os.makedirs(folder, exist_ok=True)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = np.arange(n, dtype=np.uint8) % 10
    for split in ("train", "t10k"):
        write_idx(os.path.join(folder, f"{split}-images-idx3-ubyte.gz"), images)
        write_idx(os.path.join(folder, f"{split}-labels-idx1-ubyte.gz"), labels)
    return images, labels


@pytest.mark.parametrize("layout", ["subdir", "flat"])
def test_mnist_from_root_generated_files(tmp_path, monkeypatch, layout):
    monkeypatch.delenv("CONVNET_DATA", raising=False)
    folder = tmp_path / "mnist" if layout == "subdir" else tmp_path
    images, labels = _fake_mnist(folder)
    ds = data.mnist("train", root=tmp_path, download=False, pad=2)
    assert ds.images.shape == (6, 1, 32, 32) and ds.labels.tolist() == labels.tolist()
    want = (images[:, None].astype(np.float32) / 255 - 0.1307) / 0.3081
    np.testing.assert_allclose(ds.images[:, :, 2:30, 2:30], want, rtol=1e-5, atol=1e-6)
    assert ds.normalization == {"mean": [pytest.approx(0.1307)], "std": [pytest.approx(0.3081)]}


def test_truncated_gzip_names_the_file(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    write_idx(path, np.zeros((10, 28, 28), np.uint8))
    blob = path.read_bytes()
    path.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(FileFormatError, match=f"{path}.*truncated or corrupt gzip"):
        read_idx(path)


def test_truncated_data_and_bad_header_name_the_file(tmp_path):
    path = tmp_path / "short-idx3-ubyte"
    write_idx(path, np.zeros((10, 28, 28), np.uint8))
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(FileFormatError, match=f"{path} is truncated: header says shape \\(10, 28, 28\\)"):
        read_idx(path)
    junk = tmp_path / "junk.gz"
    junk.write_bytes(gzip.compress(b"hello world, not idx"))
    with pytest.raises(FileFormatError, match=f"{junk} is not an IDX file"):
        read_idx(junk)


def test_wrong_magic_and_dims(tmp_path):
    labels = tmp_path / "labels-idx1-ubyte"
    write_idx(labels, np.zeros(5, np.uint8))
    with pytest.raises(FileFormatError, match=f"{labels} has magic number 2049, expected 2051"):
        read_idx(labels, 2051)
    images = tmp_path / "images-idx3-ubyte"
    write_idx(images, np.zeros((2, 20, 20), np.uint8))
    with pytest.raises(FileFormatError, match=r"shape \(2, 20, 20\), expected \('N', 28, 28\)"):
        read_idx(images, 2051, (None, 28, 28))


def test_longer_than_declared_and_oversized_headers(tmp_path):
    """Raw and gzip files with data past the declared size, and a header over the size limit."""
    for suffix in ("", ".gz"):
        path = tmp_path / f"long-idx1-ubyte{suffix}"
        payload = bytes([0, 0, 8, 1]) + (3).to_bytes(4, "big") + bytes([1, 2, 3, 4])  # 4 labels, header says 3
        path.write_bytes(gzip.compress(payload) if suffix else payload)
        with pytest.raises(FileFormatError, match=f"{path} is corrupt: header says shape \\(3,\\) .* more data"):
            read_idx(path)
    big = tmp_path / "big-idx3-ubyte"
    big.write_bytes(bytes([0, 0, 8, 3]) + b"".join(v.to_bytes(4, "big") for v in (4, 28, 28)) + bytes(4 * 784))
    assert read_idx(big).shape == (4, 28, 28)
    with pytest.raises(FileFormatError, match=f"{big} declares shape \\(4, 28, 28\\) \\(3,136 data bytes\\), "
                                              "more than the 3,000-byte limit"):
        read_idx(big, max_bytes=3000)


def test_mnist_label_file_checks_name_the_files(tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    write_idx(folder / "t10k-images-idx3-ubyte.gz", np.zeros((3, 28, 28), np.uint8))
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.array([1, 2, 12], np.uint8))
    with pytest.raises(FileFormatError, match="t10k-labels-idx1-ubyte.gz has label 12, expected labels 0..9"):
        mnist_files.load_idx_dataset("mnist", "test", root=tmp_path, download=False)
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.array([1, 2], np.uint8))
    with pytest.raises(FileFormatError, match="holds 3 images but .*t10k-labels-idx1-ubyte.gz holds 2 labels"):
        mnist_files.load_idx_dataset("mnist", "test", root=tmp_path, download=False)


def test_offline_without_files_says_where_to_put_them(tmp_path, monkeypatch):
    monkeypatch.delenv("CONVNET_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with pytest.raises(data.DatasetNotFoundError) as e:
        data.mnist("test", root=tmp_path / "nowhere", download=False)
    msg = str(e.value)
    assert "t10k-images-idx3-ubyte.gz" in msg and "CONVNET_DATA" in msg and "--data-dir" in msg
    assert str(tmp_path / "nowhere" / "mnist") in msg


def test_download_verifies_checksum_atomically(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(b"payload" * 100)
    good = hashlib.sha256(src.read_bytes()).hexdigest()
    dest = tmp_path / "out" / "file.gz"
    with pytest.raises(ValueError, match="checksum mismatch"):
        mnist_files.download(src.as_uri(), dest, "0" * 64)
    assert not dest.exists() and os.listdir(dest.parent) == []
    mnist_files.download(src.as_uri(), dest, good)
    assert dest.read_bytes() == src.read_bytes()


def test_download_from_mirror_into_root(tmp_path, monkeypatch):
    """The whole download path, offline: a file:// mirror with the right checksums."""
    monkeypatch.delenv("CONVNET_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    mirror = tmp_path / "mirror"
    _, labels = _fake_mnist(mirror)
    sums = {f: hashlib.sha256((mirror / f).read_bytes()).hexdigest() for f in os.listdir(mirror)}
    monkeypatch.setitem(mnist_files.SOURCES, "mnist", dict(mnist_files.SOURCES["mnist"], sha256=sums,
                                                               mirrors=["file:///nonexistent/", mirror.as_uri() + "/"]))
    ds = data.mnist("test", download=True)
    assert ds.labels.tolist() == labels.tolist()
    assert sorted(os.listdir(tmp_path / "cache" / "convnet" / "mnist")) == ["t10k-images-idx3-ubyte.gz",
                                                                           "t10k-labels-idx1-ubyte.gz"]
    bad = dict(sums, **{"train-labels-idx1-ubyte.gz": "f" * 64})
    monkeypatch.setitem(mnist_files.SOURCES, "mnist", dict(mnist_files.SOURCES["mnist"], sha256=bad))
    with pytest.raises(data.DatasetNotFoundError, match="checksum mismatch"):
        data.mnist("train", download=True)
