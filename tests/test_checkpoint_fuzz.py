"""Property-based fuzzing: truncations, bit flips and header mutations of valid files.

Whatever is done to a valid model checkpoint, PyTorch-style checkpoint dict or training state,
every reader (``load``, ``load_state``, ``read_metadata``, ``load_training_state``) either returns
or raises ``FileFormatError`` naming the file: never another exception type, never a hang
(hypothesis ``deadline``). Examples are derandomised, so runs are reproducible.
"""
import json
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import convnet as cn
from convnet import checkpoint, models, optim
from convnet.errors import FileFormatError

FUZZ = settings(max_examples=60, deadline=3000, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
READERS = [cn.load, checkpoint.load_state, checkpoint.read_metadata, checkpoint.load_training_state]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    cn.manual_seed(0)
    model = models.get("simple_cnn", num_classes=3, input_size=12)
    opt = optim.Adam(model.parameters())
    for p in model.parameters():
        p.grad = cn.ones(*p.shape)
    opt.step()
    state = {"epoch": 2, "model": model.state_dict(), "optimizer": opt.state_dict(), "history": [{"loss": 0.5}],
             "scalar": np.float32(1.5), "pair": (1, "a")}
    blobs = {}
    for name, write in (("model", lambda p: cn.save(p, model, meta={"dataset": "digits"})),
                        ("object", lambda p: cn.save(state, p)),
                        ("training", lambda p: checkpoint.save_training_state(p, state, model=model))):
        path = folder / f"{name}.safetensors"
        write(path)
        blobs[name] = path.read_bytes()
    for blob in blobs.values():
        assert len(blob) < 400_000  # small enough to fuzz quickly
    return folder, blobs


def _check_all(folder, blob):
    path = folder / "mutant.safetensors"
    path.write_bytes(blob)
    for read in READERS:
        try:
            read(path)
        except FileFormatError as e:
            assert str(path) in str(e), f"{read.__name__}: error does not name the file: {e}"


KINDS = st.sampled_from(["model", "object", "training"])


@FUZZ
@given(kind=KINDS, data=st.data())
def test_truncations(files, kind, data):
    folder, blobs = files
    blob = blobs[kind]
    n = data.draw(st.integers(0, len(blob) - 1) | st.integers(0, 600))
    _check_all(folder, blob[:n])


@FUZZ
@given(kind=KINDS, data=st.data())
def test_bit_flips(files, kind, data):
    folder, blobs = files
    blob = bytearray(blobs[kind])
    header_end = 8 + int.from_bytes(blob[:8], "little")
    where = st.integers(0, header_end + 16) | st.integers(0, len(blob) - 1)  # mostly the header and prefix
    for pos, bit in data.draw(st.lists(st.tuples(where, st.integers(0, 7)), min_size=1, max_size=6)):
        blob[pos] ^= 1 << bit
    _check_all(folder, bytes(blob))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2, 10 ** 13) | st.floats(allow_nan=False) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, prefix + (i,))


def _set(node, path, value):
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value


@FUZZ
@given(kind=KINDS, data=st.data())
def test_header_mutations(files, kind, data):
    """Replace one node of the safetensors header or of the convnet metadata inside it by random JSON."""
    folder, blobs = files
    blob = blobs[kind]
    n = int.from_bytes(blob[:8], "little")
    header, body = json.loads(blob[8:8 + n]), blob[8 + n:]
    info = json.loads(header["__metadata__"]["convnet"])
    inner = data.draw(st.booleans())
    tree = info if inner else header
    path = data.draw(st.sampled_from([p for p in _paths(tree) if p]))
    _set(tree, path, data.draw(JSON))
    if inner:
        header["__metadata__"]["convnet"] = json.dumps(info)
    text = json.dumps(header).encode()
    _check_all(folder, len(text).to_bytes(8, "little") + text + body)


def test_fuzz_base_files_are_valid(files):
    """The unmutated files load (so the properties above test mutations, not broken inputs)."""
    folder, blobs = files
    for kind, blob in blobs.items():
        path = folder / f"{kind}.safetensors"
        assert path.read_bytes() == blob
        if kind != "object":
            assert isinstance(cn.load(path), cn.nn.Module)
        checkpoint.read_metadata(path)
        assert os.path.getsize(path) == len(blob)
