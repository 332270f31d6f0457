"""Hostile and foreign files fail fast, in bounded memory, with a ``FileFormatError`` naming the file."""
import json
import os
import tracemalloc

import numpy as np
import pytest

import convnet as cn
from convnet import checkpoint, models
from convnet.cli.main import main
from convnet.errors import FileFormatError


def _craft(path, header, body=b""):
    text = json.dumps(header).encode()
    path.write_bytes(len(text).to_bytes(8, "little") + text + body)
    return path


def _header_of(path):
    blob = open(path, "rb").read()
    n = int.from_bytes(blob[:8], "little")
    return json.loads(blob[8:8 + n]), blob[8 + n:]


def _with_info(tmp_path, name, change):
    """A valid lenet5 checkpoint whose convnet metadata is replaced by ``change(info)``."""
    src = cn.save(tmp_path / "src.safetensors", models.get("lenet5", num_classes=3))
    header, body = _header_of(src)
    info = json.loads(header["__metadata__"]["convnet"])
    header["__metadata__"]["convnet"] = change(info)
    return _craft(tmp_path / name, header, body)


@pytest.mark.parametrize("change, message", [
    (lambda info: "[1, 2]", "convnet metadata is a JSON list"),
    (lambda info: "12", "convnet metadata is a JSON int"),
    (lambda info: "{not json", "convnet metadata is not valid JSON"),
    (lambda info: json.dumps(dict(info, architecture=["lenet5", 3])), "architecture is list"),
    (lambda info: json.dumps(dict(info, architecture={"num_classes": 3})), "expected an object with a 'name'"),
    (lambda info: json.dumps(dict(info, meta=[1])), "meta is a list"),
    (lambda info: json.dumps(dict(info, format="convnet.other")), "unknown format 'convnet.other'"),
    (lambda info: json.dumps(dict(info, format_version=99)), "format_version 99"),
    (lambda info: json.dumps(dict(info, architecture={"name": "lenet5", "num_classes": 3, "classic": "x",
                                                      "padding": [[]]})), "cannot rebuild architecture"),
    (lambda info: json.dumps(dict(info, architecture={"name": "nonet"})), "unknown model 'nonet'"),
])
def test_metadata_of_the_wrong_type(tmp_path, change, message):
    path = _with_info(tmp_path, "bad.safetensors", change)
    with pytest.raises(FileFormatError, match=message) as e:
        cn.load(path)
    assert str(path) in str(e.value)


@pytest.mark.parametrize("metadata", [[1, 2], {"convnet": 5}, "x"])
def test_safetensors_metadata_of_the_wrong_type(tmp_path, metadata):
    path = _craft(tmp_path / "m.safetensors", {"__metadata__": metadata})
    with pytest.raises(FileFormatError, match=f"{path} is corrupt: its __metadata__"):
        checkpoint.read_metadata(path)


@pytest.mark.parametrize("dtype", ["BF16", "F8_E4M3", "F8_E5M2"])
def test_dtypes_numpy_cannot_hold_are_named(tmp_path, dtype):
    path = _craft(tmp_path / "bf.safetensors", {"w": {"dtype": dtype, "shape": [2], "data_offsets": [0, 4]}},
                  bytes(4))
    with pytest.raises(FileFormatError, match=f"{path}: tensor 'w' has dtype {dtype}"):
        checkpoint.load_state(path)


def test_torch_bf16_file_is_refused(tmp_path):
    import torch
    from safetensors.torch import save_file

    path = tmp_path / "bf16.safetensors"
    save_file({"w": torch.ones(3, dtype=torch.bfloat16)}, str(path))
    with pytest.raises(FileFormatError, match="tensor 'w' has dtype BF16"):
        checkpoint.load_state(path)


@pytest.mark.parametrize("num_classes, message", [
    (10 ** 12, "num_classes=1000000000000 is larger than any tensor"),
    (3000, "num_classes=3000 but no stored tensor has 3000 rows"),
])
def test_config_is_checked_against_the_tensors_before_building(tmp_path, monkeypatch, num_classes, message):
    path = _with_info(tmp_path, "huge.safetensors", lambda info: json.dumps(
        dict(info, architecture=dict(info["architecture"], num_classes=num_classes))))
    built = []
    real = models.get
    monkeypatch.setattr(models, "get", lambda *a, **k: (built.append(k), real(*a, **k))[1])
    with pytest.raises(FileFormatError, match=message):
        cn.load(path)
    assert built == []  # refused from the header alone, nothing was allocated


@pytest.mark.parametrize("header, message", [
    ({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8], "x": 1}}, "header entry 'w' is not"),
    ({"w": [1]}, "header entry 'w' is not"),
    ({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, "not a list of non-negative integers"),
    ({"w": {"dtype": "F32", "shape": [2.0], "data_offsets": [0, 8]}}, "not a list of non-negative integers"),
    ({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, "needs 12 bytes but its data_offsets span 8"),
    ({"w": {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}}, "not \\[begin, end\\]"),
    ({"w": {"dtype": "X9", "shape": [2], "data_offsets": [0, 8]}}, "tensor 'w' has dtype X9"),
    ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
      "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, "starts at byte 4"),
    ({"w": {"dtype": "F32", "shape": [10 ** 15], "data_offsets": [0, 4 * 10 ** 15]}}, "is truncated"),
])
def test_malformed_headers(tmp_path, header, message):
    path = _craft(tmp_path / "h.safetensors", header, bytes(8))
    with pytest.raises(FileFormatError, match=message) as e:
        checkpoint.load_state(path)
    assert str(path) in str(e.value)


def test_deeply_nested_header(tmp_path):
    path = tmp_path / "deep.safetensors"
    text = b"{" + b'"a":' + b"[" * 100000 + b"]" * 100000 + b"}"
    path.write_bytes(len(text).to_bytes(8, "little") + text)
    with pytest.raises(FileFormatError, match=f"{path} is corrupt"):
        checkpoint.load_state(path)


def test_header_length_beyond_the_file(tmp_path):
    path = tmp_path / "short.safetensors"
    path.write_bytes((10 ** 6).to_bytes(8, "little") + b'{"a": 1}')
    with pytest.raises(FileFormatError, match=f"{path} is truncated: its header needs 1000000 bytes"):
        cn.load(path)
    path.write_bytes((2 ** 60).to_bytes(8, "little") + b"{")
    with pytest.raises(FileFormatError, match=f"{path} is not a checkpoint"):
        cn.load(path)


@pytest.mark.parametrize("n", [0, 1])
def test_header_length_too_small(tmp_path, n):
    path = tmp_path / "tiny.safetensors"
    path.write_bytes(n.to_bytes(8, "little") + b"{" + bytes(100))
    with pytest.raises(FileFormatError, match=f"{path} is not a checkpoint"):
        checkpoint.load_state(path)


def test_header_length_that_looks_like_a_pickle_opcode(tmp_path):
    """A header of 0x280 bytes starts the file with b"\x80\x02", pickle's protocol-2 opcode: still ours."""
    from safetensors.numpy import load_file

    header = {"__metadata__": {"pad": ""}, "w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}
    header["__metadata__"]["pad"] = "x" * (0x280 - len(json.dumps(header).encode()))
    path = _craft(tmp_path / "p.safetensors", header, np.array([1.5, 2.5], np.float32).tobytes())
    assert path.read_bytes()[:2] == b"\x80\x02"
    assert checkpoint.load_state(path)["w"].tolist() == load_file(str(path))["w"].tolist() == [1.5, 2.5]


def test_huge_files_are_judged_from_their_header(tmp_path):
    """A sparse 8 GiB file: nothing beyond the header is read (tracemalloc peak stays small)."""
    junk = tmp_path / "huge.bin"
    with open(junk, "wb") as f:
        f.truncate(8 * 2 ** 30)
    padded = _craft(tmp_path / "padded.safetensors", {"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}},
                    bytes(8))
    with open(padded, "r+b") as f:
        f.truncate(8 * 2 ** 30)  # a valid header, then gigabytes the header does not declare
    tracemalloc.start()
    try:
        with pytest.raises(FileFormatError, match=f"{junk} is not a checkpoint"):
            cn.load(junk)
        with pytest.raises(FileFormatError, match=f"{padded} is corrupt: its header declares 8 bytes"):
            checkpoint.load_state(padded)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * 2 ** 20


def test_special_files_are_refused(tmp_path):
    with pytest.raises(FileFormatError, match="/dev/zero is not a regular file"):
        cn.load("/dev/zero")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(FileFormatError, match=f"{fifo} is not a regular file"):  # and does not block
        checkpoint.load_state(fifo)


@pytest.mark.parametrize("zipfile", [True, False])
def test_pytorch_pickles_are_never_unpickled(tmp_path, monkeypatch, zipfile):
    import pickle

    import torch

    path = tmp_path / "mnist_cnn.pt"
    torch.save({"w": torch.ones(2)}, path, _use_new_zipfile_serialization=zipfile)
    monkeypatch.setattr(pickle, "Unpickler", None)  # any attempt to unpickle would fail differently
    monkeypatch.setattr(pickle, "load", None)
    with pytest.raises(FileFormatError) as e:
        cn.load(path)
    msg = str(e.value)
    assert f"{path} is a PyTorch pickle file" in msg
    assert "from safetensors.torch import save_file" in msg and f"save_file(torch.load('{path}')" in msg


def test_cli_eval_of_hostile_files_is_one_line(tmp_path, capsys):
    import torch

    pt = tmp_path / "m.pt"
    torch.save({"w": torch.ones(2)}, pt)
    for target, expected in (("/dev/zero", "not a regular file"), (str(pt), "PyTorch pickle file")):
        code = main(["eval", target])
        err = capsys.readouterr().err
        assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
        assert err.startswith("convnet eval: error: ") and target in err and expected in err


def test_loading_reads_only_the_declared_bytes(tmp_path, monkeypatch):
    path = cn.save(models.get("lenet5"), tmp_path / "m.pt")
    size = os.path.getsize(path)
    read = []
    real_open = open

    class Counting:
        def __init__(self, f):
            self.f = f

        def read(self, n=-1):
            assert n >= 0, "unbounded read"
            out = self.f.read(n)
            read.append(len(out))
            return out

        def readinto(self, b):
            n = self.f.readinto(b)
            read.append(n)
            return n

        def __getattr__(self, name):
            return getattr(self.f, name)

        def __enter__(self):
            return self

        def __exit__(self, *a):
            self.f.close()

    from convnet import _safetensors_io

    monkeypatch.setattr(_safetensors_io, "open", lambda p, mode: Counting(real_open(p, mode)), raising=False)
    checkpoint.load_state(path)
    assert sum(read) == size and len(read) > 2  # prefix, header, then each tensor exactly once
