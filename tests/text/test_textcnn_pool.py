"""TextCNN(pool="max+mean"): masked max and mean over each sentence's own windows, against a torch twin
that pools every sentence separately (no padding at all), and the result must not depend on padding."""
import numpy as np
import pytest
import torch

import convnet as cn
from convnet import models
from textcnn_twin import torch_twin


def _torch_forward(twin, sentences, widest):
    """Each sentence alone, padded only up to the widest filter when shorter (as the encoder's min_len)."""
    emb, convs, fc = twin
    rows = []
    for s in sentences:
        ids = list(s) + [0] * max(0, widest - len(s))
        e = emb(torch.tensor([ids])).transpose(1, 2)
        feats = []
        for c in convs:
            k = c.weight.shape[2]
            h = c(e).relu()[:, :, :max(len(s) - k + 1, 1)]  # windows that end on a real token (at least one)
            feats += [h.amax(2), h.mean(2)]
        rows.append(torch.cat(feats, 1))
    return fc(torch.cat(rows, 0))


@pytest.mark.parametrize("widths", [(3, 4, 5), (1, 2)])
def test_max_mean_pool_matches_per_sentence_torch_forward_and_backward(widths):
    rng = np.random.default_rng(0)
    m = models.get("textcnn", num_classes=3, vocab_size=20, embedding_dim=6, num_filters=4, dropout=0.0,
                   kernel_sizes=widths, pool="max+mean")
    lengths = [9, 6, 2, 7]
    sentences = [rng.integers(1, 20, n) for n in lengths]
    x = np.zeros((4, 9), np.int64)
    for row, s in zip(x, sentences):
        row[:len(s)] = s
    out = m(cn.tensor(x))
    twin = torch_twin(m)
    ref = _torch_forward(twin, sentences, max(widths))
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), atol=1e-5, rtol=1e-4)
    g = rng.standard_normal((4, 3)).astype(np.float32)
    out.backward(cn.tensor(g))
    ref.backward(torch.tensor(g))
    np.testing.assert_allclose(m.embedding.weight.grad.numpy(), twin[0].weight.grad.numpy(), atol=1e-5, rtol=1e-4)
    for ours, theirs in zip(m.convs, twin[1]):
        np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), atol=1e-5, rtol=1e-4)


def test_max_mean_output_does_not_depend_on_padding():
    m = models.get("textcnn", num_classes=5, vocab_size=30, pool="max+mean").eval()
    s = np.array([[4, 9, 2, 7, 7, 3, 12]])
    with cn.no_grad():
        a = m(cn.tensor(s)).numpy()
        b = m(cn.tensor(np.pad(s, ((0, 0), (0, 20))))).numpy()
    np.testing.assert_allclose(a, b, atol=1e-6)
    assert m.fc.weight.shape == (5, 600)


def test_unknown_pool_is_refused():
    with pytest.raises(ValueError, match="pool must be one of"):
        models.get("textcnn", pool="avg")


def test_onnx_export_of_the_masked_pool_is_refused_not_frozen():
    pytest.importorskip("onnx")
    from convnet.onnx.export import build_model

    m = models.get("textcnn", num_classes=3, vocab_size=20, pool="max+mean").eval()
    with pytest.raises(ValueError, match="module '<model>' cannot be traced: pool='max\\+mean'"):
        build_model(m, cn.tensor(np.ones((1, 12), np.int64)))
