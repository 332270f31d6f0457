"""Content-based image retrieval on MNIST and Fashion-MNIST: CNN features against raw pixels and PCA-64.

Test images are the queries (the first --queries of the test set), the 60,000 training images the
gallery; an item is relevant when it has the query's class. For each feature:
mAP over the whole gallery ranking, precision@10, and queries/second of ``Index.search`` (embedding
included for the CNN). The FAISS HNSW backend's recall@10 against exact search and its speed too.

CNN features: LeNet-5's penultimate layer (84-d, L2-normalised). MNIST uses the shipped weights
(``models.get("lenet5", weights="mnist")``); Fashion-MNIST a LeNet-5 trained here for --epochs
(Adam 1e-3, batch 128, seed 0).

    CONVNET_DATA=/work/shared/datasets .venv/bin/python benchmarks/retrieval.py
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

import convnet as cn
from convnet import data
from convnet.retrieval import Index, retrieval_metrics


def pixels(ds):
    """(N, 784) raw pixels in [0, 1] of an MNIST-format dataset (the 28x28 images, no padding)."""
    raw = ds._raw[:, :, 2:-2, 2:-2] if ds._raw.shape[-1] == 32 else ds._raw
    return raw.reshape(len(raw), -1).astype(np.float32) / (255.0 if raw.dtype == np.uint8 else 1.0)


def pca(train, k=64):
    mean = train.mean(0)
    _, _, vt = np.linalg.svd(train[::6] - mean, full_matrices=False)  # components from 10,000 images
    return lambda x: (x - mean) @ vt[:k].T


def qps(fn, n, repeat=3):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return n / float(np.median(times))


def cnn(name, epochs, seed=0):
    if name == "mnist":
        return cn.models.get("lenet5", weights="mnist"), "shipped weights lenet5/mnist"
    cn.manual_seed(seed)
    model = cn.models.get("lenet5")
    train = data.get(name, "train", size=32)
    t = time.perf_counter()
    loader = data.DataLoader(train, batch_size=128, shuffle=True, generator=cn.Generator().manual_seed(seed))
    cn.fit(model, loader, epochs=epochs, lr=1e-3, progress=False)
    return model, f"LeNet-5 trained {epochs} epochs here ({time.perf_counter() - t:.0f} s)"


def run(name, n_queries, epochs, faiss_ok):
    gallery, test = data.get(name, "train", size=32), data.get(name, "test", size=32)
    qi = np.arange(n_queries)
    xq, yq = test.get_batch(qi)
    gl = gallery.labels.astype(np.int64)
    model, how = cnn(name, epochs)
    rows = {}
    pg, pq = pixels(gallery), pixels(test)[qi]
    proj = pca(pg)
    for feat, g, q in (("raw pixels (784-d)", pg, pq), ("PCA-64", proj(pg), proj(pq))):
        index = Index(g, gl, normalize=False)
        m = retrieval_metrics(q, yq, index.vectors, gl, k=10)
        rows[feat] = {**m, "qps": qps(lambda: index.search_vectors(q, 10), n_queries)}
    t = time.perf_counter()
    index = Index.build(model, gallery, batch_size=500)
    build_s = time.perf_counter() - t
    q = index.embed(xq)
    m = retrieval_metrics(q, yq, index.vectors, gl, k=10)
    rows["LeNet-5 features (84-d)"] = {**m, "qps": qps(lambda: index.search(xq, 10), n_queries)}
    out = {"dataset": name, "queries": n_queries, "gallery": len(gallery), "cnn": how, "index_build_s": build_s,
           "rows": rows}
    if faiss_ok:
        exact = index.search_vectors(q, 10, normalized=True)[1]
        fidx = Index(index.vectors, gl, backend="faiss")
        t = time.perf_counter()
        fidx.search_vectors(q[:1], 10)  # builds the HNSW graph
        out["faiss_build_s"] = time.perf_counter() - t
        approx = fidx.search_vectors(q, 10, normalized=True)[1]
        out["faiss_recall_at_10"] = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(exact, approx)]))
        out["faiss_qps"] = qps(lambda: fidx.search_vectors(q, 10, normalized=True), n_queries)
        out["exact_qps_features_only"] = qps(lambda: index.search_vectors(q, 10, normalized=True), n_queries)
    return out, (index, test, gallery, xq)


def picture(index, test, gallery, xq, path, n=5, k=10):
    from convnet.plots import _pyplot

    plt = _pyplot()
    d, i = index.search(xq[:n], k)
    fig, axes = plt.subplots(n, k + 1, figsize=(1.1 * (k + 1), 1.25 * n))
    for r in range(n):
        imgs = [xq[r, 0]] + [gallery.get_batch(i[r, j:j + 1])[0][0, 0] for j in range(k)]
        for c, img in enumerate(imgs):
            ax = axes[r, c]
            ax.imshow(img, cmap="gray")
            ax.axis("off")
            lab = test.labels[r] if c == 0 else gallery.labels[i[r, c - 1]]
            ax.set_title(("query: " if c == 0 else "") + test.classes[lab][:9], fontsize=6,
                         color="black" if c == 0 or lab == test.labels[r] else "red")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--json", default="docs/retrieval_results.json")
    ap.add_argument("--png", default="docs/_static/retrieval_fashion.png")
    args = ap.parse_args()
    try:
        import faiss  # noqa: F401
        faiss_ok = True
    except ImportError:
        faiss_ok = False
    t0 = time.perf_counter()
    results = []
    for name in ("mnist", "fashion-mnist"):
        res, extra = run(name, args.queries, args.epochs, faiss_ok)
        results.append(res)
        print(f"\n{name}: {res['queries']} test queries, gallery {res['gallery']} training images; CNN: {res['cnn']}")
        print(f"  {'features':26s} {'mAP':>7s} {'P@10':>7s} {'queries/s':>10s}")
        for feat, r in res["rows"].items():
            print(f"  {feat:26s} {r['map']:7.4f} {r['precision_at_k']:7.4f} {r['qps']:10.0f}")
        if faiss_ok:
            print(f"  FAISS HNSW recall@10 vs exact: {res['faiss_recall_at_10']:.4f}; {res['faiss_qps']:.0f} q/s vs "
                  f"exact {res['exact_qps_features_only']:.0f} q/s on the features (graph built in "
                  f"{res['faiss_build_s']:.1f} s)")
    picture(*extra, args.png)
    wall = time.perf_counter() - t0
    print(f"\nwall time {wall:.0f} s; picture {args.png}; numbers {args.json}")
    from convnet.checkpoint import atomic_write

    atomic_write(args.json, json.dumps({"results": results, "wall_s": wall}, indent=1))


if __name__ == "__main__":
    main()
