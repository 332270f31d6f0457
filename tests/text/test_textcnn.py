"""Kim's text CNN: against a PyTorch build with the same weights, a toy task it must learn, and the CLI."""
import numpy as np
import pytest
import torch

import convnet as cn
import convnet.functional as F
from convnet import models, optim, text
from convnet.checkpoint import load_model
from convnet.cli.main import main
from langid_fixtures import DE, FR
from textcnn_twin import torch_twin


def test_textcnn_matches_torch_forward_and_backward(rng):
    m = models.get("textcnn", num_classes=3, vocab_size=20, embedding_dim=6, num_filters=4, dropout=0.0)
    assert m.config["level"] == "char" and models.get("textcnn_word").config["level"] == "word"
    emb, convs, fc = torch_twin(m)
    assert [c.kernel_size for c in convs] == [(3,), (4,), (5,)] and fc.in_features == 12
    x = rng.integers(0, 20, (4, 9))
    x[:, -2:] = 0  # padding
    out = m(cn.tensor(x))
    e = emb(torch.tensor(x)).transpose(1, 2)
    ref = fc(torch.cat([c(e).relu().amax(2) for c in convs], 1))
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), atol=1e-5, rtol=1e-4)
    g = rng.standard_normal((4, 3)).astype(np.float32)
    out.backward(cn.tensor(g))
    ref.backward(torch.tensor(g))
    np.testing.assert_allclose(m.embedding.weight.grad.numpy(), emb.weight.grad.numpy(), atol=1e-5, rtol=1e-4)
    np.testing.assert_allclose(m.convs[1].weight.grad.numpy(), convs[1].weight.grad.numpy(), atol=1e-5, rtol=1e-4)
    with pytest.raises(ValueError, match="widest filter"):
        m(cn.tensor(np.ones((2, 4), np.int64)))


def test_textcnn_learns_a_toy_two_language_task():
    rng = np.random.default_rng(0)
    texts = [" ".join(rng.choice(words, 5)) for words in (DE, FR) for _ in range(100)]
    labels = [0] * 100 + [1] * 100
    enc = text.TextEncoder.fit(texts, "word", max_len=12, min_freq=1)
    ds = text.EncodedText(texts, labels, enc, ["de", "fr"], "toy")
    m = models.get("textcnn_word", num_classes=2, vocab_size=len(enc.vocab), embedding_dim=16, num_filters=8)
    opt = optim.Adam(m.parameters(), lr=1e-2)
    for _ in range(3):
        for x, y in text.BucketLoader(ds, 32, seed=0):
            loss = F.cross_entropy(m(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
    m.eval()
    probs = text.predict_proba(m, enc, ["die Datei wurde nicht gefunden", "le fichier est introuvable"])
    assert probs.argmax(1).tolist() == [0, 1]
    assert probs.max(1).min() > 0.9


def test_cli_train_eval_predict_text(langid_dir, tmp_path, capsys):
    run = str(tmp_path / "run")
    assert main(["train", "--dataset", "langid-gnu", "--data-dir", str(langid_dir), "--model", "textcnn",
                 "--epochs", "3", "--out", run, "--no-progress", "--image-size", "64"]) == 0
    out = capsys.readouterr().out
    assert "test accuracy: 100.00% (40/40)" in out
    loaded = load_model(run)
    meta = loaded.checkpoint_meta
    assert meta["text"]["level"] == "char" and meta["text"]["max_len"] == 64 and "é" in meta["text"]["vocab"]
    assert main(["eval", run, "--data-dir", str(langid_dir)]) == 0
    assert "accuracy 100.00%" in capsys.readouterr().out
    assert main(["predict", run, "--text", "das Verzeichnis kann nicht gefunden werden",
                 "--text", "le répertoire est introuvable", "--top-k", "1"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert ": de (" in lines[0]
    assert ": fr (" in lines[1]
    assert main(["predict", run, "picture.png"]) == 2
    assert "is a text model" in capsys.readouterr().err
    assert main(["train", "--dataset", "langid-gnu", "--data-dir", str(langid_dir), "--model", "lenet5",
                 "--epochs", "1", "--out", str(tmp_path / "r2"), "--no-progress"]) == 2
    assert "needs a text model" in capsys.readouterr().err


def test_cli_train_text_with_model_options(langid_dir, tmp_path, capsys):
    """--model-option reaches the text model: the checkpoint rebuilds a max+mean TextCNN with widths 2/3."""
    run = str(tmp_path / "run")
    assert main(["train", "--dataset", "langid-gnu", "--data-dir", str(langid_dir), "--model", "textcnn",
                 "--model-option", "pool=max+mean", "--model-option", "kernel_sizes=(2, 3)",
                 "--epochs", "2", "--out", run, "--no-progress", "--image-size", "64"]) == 0
    capsys.readouterr()
    loaded = load_model(run)
    assert loaded.pool == "max+mean" and loaded.kernel_sizes == (2, 3)
    assert loaded.fc.weight.shape[1] == 2 * 2 * 100  # two widths x (max, mean) x 100 filters
    assert main(["predict", run, "--text", "le répertoire est introuvable", "--top-k", "1"]) == 0
    assert ": fr (" in capsys.readouterr().out
