"""convnet.retrieval: exact search against brute force, save/load, FAISS recall, the metrics against
scikit-learn, and the index/search commands."""
import os

import numpy as np
import pytest

import convnet as cn
from convnet.errors import FileFormatError
from convnet.retrieval import Index, exact_search, retrieval_metrics
from convnet.retrieval import index as index_mod
from helpers import assert_same


def brute_force(q, g, k):
    d = ((q[:, None, :].astype(np.float64) - g[None, :, :]) ** 2).sum(-1)  # (Q, N)
    idx = np.argsort(d, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(d, idx, 1), idx


def test_exact_search_equals_brute_force_in_blocks(rng, monkeypatch):
    g = rng.standard_normal((500, 16)).astype(np.float32)
    q = rng.standard_normal((37, 16)).astype(np.float32)
    monkeypatch.setattr(index_mod, "_BLOCK_BYTES", 8 * 500 * 5)  # blocks of 5 queries
    d, i = exact_search(q, g, 7)
    want_d, want_i = brute_force(q, g, 7)
    assert_same(i, want_i)
    np.testing.assert_allclose(d, want_d, rtol=1e-4, atol=1e-4)
    assert d.dtype == np.float32 and i.dtype == np.int64
    d, i = exact_search(q, g, 800)  # k past the gallery size: every item, sorted
    assert i.shape == (37, 500) and (np.diff(d, axis=1) >= 0).all()


def test_index_normalizes_and_finds_known_neighbour():
    g = np.array([[1.0, 0.0], [0.0, 2.0], [-3.0, 0.0], [0.0, -1.0]])
    index = Index(g, labels=[0, 1, 2, 3])
    d, i = index.search_vectors(np.array([[0.1, 5.0], [-1.0, -0.2]]), k=2)
    assert i[:, 0].tolist() == [1, 2]
    np.testing.assert_allclose(np.linalg.norm(index.vectors, axis=1), 1.0, rtol=1e-6)
    with pytest.raises(ValueError, match="k must be a positive integer"):
        index.search_vectors(g, k=0)
    with pytest.raises(ValueError, match=r"\(Q, 2\)"):
        index.search_vectors(np.zeros((1, 3)), k=1)
    with pytest.raises(ValueError, match="no model"):
        index.search(np.zeros((1, 1, 32, 32)), k=1)


@pytest.fixture(scope="module")
def digits_index():
    model = cn.models.get("lenet5", weights="digits")
    gallery = cn.data.get("digits", "test", size=32)
    return model, gallery, Index.build(model, gallery, batch_size=100)


def test_build_uses_penultimate_features(digits_index):
    model, gallery, index = digits_index
    x, y = gallery.get_batch(np.arange(len(gallery)))
    with cn.no_grad():
        model.eval()
        h = model.classifier.act6(model.classifier.f6(model.features(cn.tensor(x)).flatten(1))).numpy()
    want = h / np.linalg.norm(h, axis=1, keepdims=True)
    np.testing.assert_allclose(index.vectors, want, rtol=1e-5, atol=1e-6)
    assert_same(index.labels, y.astype(np.int64))
    d, i = index.search(x[:20], k=5)
    assert i[:, 0].tolist() == list(range(20)) and np.all(d[:, 0] < 1e-5)  # each image finds itself
    assert (index.labels[i[:, 1:]] == y[:20, None]).mean() >= 0.85


def test_save_load_round_trip(digits_index, tmp_path):
    model, gallery, index = digits_index
    path = index.save(tmp_path / "digits.index")
    back = Index.load(path, model=model)
    assert_same(back.vectors, index.vectors)
    assert_same(back.labels, index.labels)
    x = gallery.get_batch(np.arange(10))[0]
    for a, b in zip(back.search(x, 4), index.search(x, 4)):
        assert_same(a, b)
    (tmp_path / "bad.index").write_bytes(b"not a safetensors file at all")
    with pytest.raises(FileFormatError, match="bad.index"):
        Index.load(tmp_path / "bad.index")


def test_faiss_backend_recall(rng):
    centres = rng.standard_normal((20, 32))
    g = (centres[rng.integers(0, 20, 4000)] + 0.3 * rng.standard_normal((4000, 32))).astype(np.float32)
    q = (centres[rng.integers(0, 20, 100)] + 0.3 * rng.standard_normal((100, 32))).astype(np.float32)
    exact = Index(g).search_vectors(q, 10)[1]
    approx = Index(g, backend="faiss").search_vectors(q, 10)[1]
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(exact, approx)])
    assert recall > 0.9


def test_retrieval_metrics_match_sklearn(rng):
    from sklearn.metrics import average_precision_score

    g = rng.standard_normal((300, 8)).astype(np.float32)
    gl = rng.integers(0, 4, 300)
    q = (g[:25] + rng.standard_normal((25, 8)).astype(np.float32))
    ql = gl[:25]
    r = retrieval_metrics(q, ql, g, gl, k=10)
    d = ((q[:, None].astype(np.float64) - g[None]) ** 2).sum(-1)
    ap = [average_precision_score(gl == ql[j], -d[j]) for j in range(25)]
    p10 = [np.mean(gl[np.argsort(d[j])[:10]] == ql[j]) for j in range(25)]
    assert r["map"] == pytest.approx(np.mean(ap), abs=1e-6)
    assert r["precision_at_k"] == pytest.approx(np.mean(p10), abs=1e-12)


def test_index_and_search_commands(digits_index, tmp_path, capsys):
    from PIL import Image

    from convnet.cli.main import main

    model, gallery, _ = digits_index
    ckpt = cn.save(model, str(tmp_path / "m.safetensors"), meta=model.checkpoint_meta)
    out = str(tmp_path / "idx")
    assert main(["index", ckpt, "--split", "test", "-o", out]) == 0
    assert "indexed 359 images of digits test" in capsys.readouterr().out
    q = str(tmp_path / "q.png")
    Image.fromarray((gallery._raw[7, 0] * 255).round().astype(np.uint8)).save(q)
    png = str(tmp_path / "res.png")
    assert main(["search", out, q, "-k", "4", "--prepare", "resize", "-o", png]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("  1. #7  3  distance 0.00")  # the query itself, distance ~0
    assert len(lines) == 5 and os.path.getsize(png) > 1000
    assert main(["search", out, q, "-k", "0"]) == 2
    assert "convnet search: error: -k must be a positive integer" in capsys.readouterr().err
    assert main(["search", str(tmp_path / "missing"), q]) == 2


def test_smallest_k_keeps_ties_in_index_order(rng):
    from convnet.retrieval.index import smallest_k

    d = rng.integers(0, 6, (9, 700)).astype(np.float32)  # many ties; blocks of 64 with a ragged tail
    for k in (1, 5, 12, 700):
        v, i = smallest_k(d, k)
        want = np.argsort(d, axis=1, kind="stable")[:, :k]
        assert_same(i, want)
        assert_same(v, np.take_along_axis(d, want, 1))
