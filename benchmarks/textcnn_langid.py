"""Language identification on langid-gnu: Kim's character-level text CNN vs char n-gram TF-IDF + naive Bayes.

Both are trained on the whole training file (56,000 sentences, 60+ programs) and tested on the test file
(11,200 sentences from *other* programs), side by side in one process. The baseline is scikit-learn's
``TfidfVectorizer(analyzer="char", ngram_range=(1, 4))`` + ``MultinomialNB()`` (the datasets README quotes
98.97%). The CNN's reported accuracy is its last epoch's (no selection on the test set). ``--word`` also
trains the word-level ``textcnn_word`` and reports the two CNNs' ensemble (mean of their probabilities).
Writes the confusion matrices as one PNG and the numbers as JSON.

    CONVNET_DATA=/work/shared/datasets .venv/bin/python benchmarks/textcnn_langid.py --epochs 4   # quick
    CONVNET_DATA=/work/shared/datasets .venv/bin/python benchmarks/textcnn_langid.py --epochs 16 --filters 128 \
        --widths 2 3 4 5 --pool max+mean --token-dropout 0.25 --weight-decay 0.01 --word   # docs/results.md
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

import convnet as cn
import convnet.functional as F
from convnet import models, optim, text
from convnet.data.langid import langid_gnu


def confused_pairs(cm, classes, k=5):
    """The ``k`` largest off-diagonal counts as ``"true->predicted: n"``."""
    off = np.array(cm, copy=True)
    np.fill_diagonal(off, 0)
    order = np.argsort(-off, axis=None, kind="stable")[:k]
    return [f"{classes[i]}->{classes[j]}: {int(off[i, j])}" for i, j in zip(*np.unravel_index(order, off.shape))]


def confusion(y_true, y_pred, c):
    cm = np.zeros((c, c), np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    return cm


def baseline(train, test):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.naive_bayes import MultinomialNB

    t = time.perf_counter()
    vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 4))
    clf = MultinomialNB().fit(vec.fit_transform(train.texts), train.targets)
    pred = clf.predict(vec.transform(test.texts))
    return pred, time.perf_counter() - t


def textcnn(train, test, args, level="char"):
    """Train one Kim CNN (``level`` char or word) and return its test probabilities and history."""
    t = time.perf_counter()
    cn.manual_seed(args.seed)
    word = level == "word"
    encoder = text.TextEncoder.fit(train.texts, level, max_len=40 if word else args.max_len, min_freq=2)
    tr = text.EncodedText(train.texts, train.targets, encoder, train.classes, "langid-gnu")
    te = text.EncodedText(test.texts, test.targets, encoder, test.classes, "langid-gnu")
    model = models.get("textcnn_word" if word else "textcnn", num_classes=len(train.classes),
                       vocab_size=len(encoder.vocab), embedding_dim=128 if word else args.embedding_dim,
                       num_filters=args.filters, kernel_sizes=(1, 2, 3) if word else tuple(args.widths),
                       pool=args.pool)
    opt = (optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay) if args.weight_decay
           else optim.Adam(model.parameters(), lr=args.lr))
    noise = np.random.default_rng(args.seed + 1)
    loader = text.BucketLoader(tr, args.batch_size, seed=args.seed)
    sched = optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.epochs * len(loader))
    history = []
    for epoch in range(1, args.epochs + 1):
        model.train()
        losses = []
        for x, y in loader:
            if args.token_dropout:  # replace a fraction of the real tokens by <unk> (id 1)
                ids = x.numpy().copy()
                ids[(ids > 1) & (noise.random(ids.shape) < args.token_dropout)] = 1
                x = cn.tensor(ids)
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            losses.append(float(loss.item()))
        proba = predict(model, te)
        acc = float((proba.argmax(1) == te.targets).mean())
        history.append({"epoch": epoch, "train_loss": float(np.mean(losses)), "test_accuracy": acc,
                        "seconds": round(time.perf_counter() - t, 1)})
        print(f"  textcnn ({level}) epoch {epoch}: train loss {np.mean(losses):.4f}, test accuracy {acc:.2%} "
              f"({time.perf_counter() - t:.0f} s)", flush=True)
    return proba, time.perf_counter() - t, history, len(encoder.vocab), sum(p.numel() for p in model.parameters())


def predict(model, ds):
    """Test-set class probabilities ``(N, C)`` in the dataset's order."""
    model.eval()
    out = np.zeros((len(ds), len(ds.classes)))
    with cn.no_grad():
        for start in range(0, len(ds), 512):
            idx = np.arange(start, min(start + 512, len(ds)))
            x, _ = ds.get_batch(idx)
            out[idx] = F.softmax(model(cn.tensor(x)), 1).numpy()
    return out


def plot(cms, titles, classes, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(cms), figsize=(7.5 * len(cms), 6.8))
    for ax, cm, title in zip(axes, cms, titles):
        off = np.array(cm, dtype=float)
        np.fill_diagonal(off, np.nan)  # the diagonal would swamp the colour scale: errors only
        ax.imshow(off, cmap="Reds")
        for i in range(len(classes)):
            for j in range(len(classes)):
                v = int(cm[i][j])
                if v:
                    ax.text(j, i, str(v), ha="center", va="center", fontsize=7,
                            color="black" if i != j else "tab:blue")
        ax.set_xticks(range(len(classes)), classes, rotation=90)
        ax.set_yticks(range(len(classes)), classes)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--max-len", type=int, default=150)
    p.add_argument("--embedding-dim", type=int, default=64)
    p.add_argument("--filters", type=int, default=100)
    p.add_argument("--widths", type=int, nargs="+", default=[3, 4, 5], help="filter widths (Kim: 3 4 5)")
    p.add_argument("--pool", default="max", choices=["max", "max+mean"])
    p.add_argument("--token-dropout", type=float, default=0.0,
                   help="training only: each character becomes <unk> with this probability")
    p.add_argument("--weight-decay", type=float, default=0.0, help="AdamW's decoupled weight decay (0: Adam)")
    p.add_argument("--word", action="store_true",
                   help="also train the word-level textcnn_word (widths 1 2 3) and report the char + word ensemble")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--limit", type=int, default=None, help="sentences per language (quick check)")
    p.add_argument("--out", default="docs/_static/textcnn_langid.png")
    p.add_argument("--json", default="docs/textcnn_langid.json")
    args = p.parse_args()
    start = time.perf_counter()
    train, test = langid_gnu("train", limit=args.limit), langid_gnu("test", limit=args.limit)
    print(f"langid-gnu: {len(train)} train / {len(test)} test sentences, {len(train.classes)} languages")
    nb_pred, nb_s = baseline(train, test)
    nb_acc = float((nb_pred == test.targets).mean())
    print(f"char 1-4-gram TF-IDF + multinomial NB (scikit-learn): test accuracy {nb_acc:.2%} ({nb_s:.0f} s)")
    proba, cnn_s, history, vocab, params = textcnn(train, test, args, "char")
    cnn_pred = proba.argmax(1)
    cnn_acc = float((cnn_pred == test.targets).mean())
    print(f"textcnn (char, vocab {vocab}, {params} parameters, {args.epochs} epochs): test accuracy "
          f"{cnn_acc:.2%} ({cnn_s:.0f} s)")
    c = len(test.classes)
    preds = {"NB": nb_pred, "textcnn": cnn_pred}
    titles = [f"TF-IDF char 1-4-grams + NB: {nb_acc:.2%}", f"textcnn (char): {cnn_acc:.2%}"]
    result = {"nb_accuracy": nb_acc, "textcnn_accuracy": cnn_acc, "textcnn_history": history,
              "vocab_size": vocab, "parameters": int(params)}
    if args.word:  # Kim's word-level CNN, and the mean of the two CNNs' probabilities
        wproba, w_s, whistory, wvocab, wparams = textcnn(train, test, args, "word")
        wacc = float((wproba.argmax(1) == test.targets).mean())
        preds["ensemble"] = ((proba + wproba) / 2).argmax(1)
        eacc = float((preds["ensemble"] == test.targets).mean())
        print(f"textcnn_word (vocab {wvocab}, {wparams} parameters): test accuracy {wacc:.2%} ({w_s:.0f} s); "
              f"char + word CNN (mean of probabilities): {eacc:.2%}")
        titles.append(f"char + word textcnn (mean of probabilities): {eacc:.2%}")
        result.update({"textcnn_word_accuracy": wacc, "textcnn_word_history": whistory, "ensemble_accuracy": eacc,
                       "word_vocab_size": wvocab, "word_parameters": int(wparams)})
    cms = {name: confusion(test.targets, pred, c) for name, pred in preds.items()}
    for name, cm in cms.items():
        print(f"most confused ({name}, true->predicted): {', '.join(confused_pairs(cm, test.classes))}")
        result[f"{name.lower()}_confused"] = confused_pairs(cm, test.classes)
        result[f"confusion_{name.lower()}"] = cm.tolist()
    plot(list(cms.values()), titles, test.classes, args.out)
    result["command"] = ("CONVNET_DATA=/work/shared/datasets .venv/bin/python benchmarks/textcnn_langid.py "
                         + " ".join(f"--{k.replace('_', '-')} {' '.join(map(str, v)) if isinstance(v, list) else v}"
                                    for k, v in vars(args).items()
                                    if k not in ("out", "json", "word") and v is not None)
                         + (" --word" if args.word else ""))
    result.update({"classes": test.classes, "wall_seconds": round(time.perf_counter() - start, 1)})
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    print(f"wrote {args.out} and {args.json}; total {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
