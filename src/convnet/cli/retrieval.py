"""``convnet index`` and ``convnet search``: content-based image retrieval with a trained model.

    convnet index runs/lenet5-fmnist --dataset fashion-mnist -o fmnist.index
    convnet search fmnist.index query.png -k 10 -o results.png

``index`` embeds every image of a dataset split with the checkpoint (features at the input of its
final layer, L2-normalised) and saves them (:class:`convnet.retrieval.Index`); ``search`` embeds a
query image with the same checkpoint, prints its ``k`` nearest gallery images and draws them.
"""
from __future__ import annotations

import argparse
import os

INDEX_DESCRIPTION = """Embed every image of a dataset split with a trained checkpoint (features at the input of
its final layer, L2-normalised) and save them as a searchable index for 'convnet search'."""


def add_parser(subparsers):
    """Register ``index`` and ``search`` on the ``convnet`` command's subparsers."""
    fmt = argparse.RawDescriptionHelpFormatter
    p = subparsers.add_parser("index", help="embed a dataset with a trained model into a searchable index",
                              description=INDEX_DESCRIPTION, formatter_class=fmt,
                              epilog="example:\n"
                                     "  convnet index runs/lenet5-fmnist --dataset fashion-mnist -o fmnist.index")
    p.add_argument("checkpoint", metavar="RUN", help="run directory or checkpoint file of a trained model")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="index file to write")
    p.add_argument("--dataset", help="gallery dataset (default: the one the checkpoint was trained on)")
    p.add_argument("--split", default="train", choices=("train", "test"), help="gallery split (default train)")
    p.add_argument("--layer", help="module whose output is the feature (default: the input of the final layer)")
    p.add_argument("--limit", type=int, help="index only the first N images")
    p.add_argument("--data-dir", help="where the dataset files are (default: $CONVNET_DATA, then the cache)")
    p.add_argument("--batch-size", type=int, default=256, help="images per forward pass (default 256)")
    p.set_defaults(func=run_index)

    s = subparsers.add_parser("search", help="find the images of an index most similar to a query image",
                              description="Embed IMAGE with the index's model and show its k nearest gallery images.",
                              formatter_class=fmt,
                              epilog="example:\n  convnet search fmnist.index query.png -k 10 -o results.png")
    s.add_argument("index", metavar="INDEX", help="index file written by 'convnet index'")
    s.add_argument("image", metavar="IMAGE", help="query image (PNG/JPEG)")
    s.add_argument("-k", type=int, default=10, help="number of neighbours (default 10)")
    s.add_argument("-o", "--output", metavar="OUT", help="picture of the query and its neighbours (PNG)")
    s.add_argument("--backend", choices=("exact", "faiss"), help="search backend (default: the index's)")
    s.add_argument("--prepare", default="auto", choices=("auto", "digits", "mnist", "resize"),
                   help="how IMAGE is made to look like the training images (default auto: as 'convnet predict' "
                        "for the index's dataset; resize keeps an image of the input size unchanged)")
    s.add_argument("--invert", default="auto", choices=("auto", "yes", "no"),
                   help="invert grey levels first (default auto: when the image border is light)")
    s.set_defaults(func=run_search)
    return p


def _gallery(name, split, root, size, limit=None):
    from .. import data

    if name.lower().replace("_", "-") not in data.DATASETS or data.is_text(name):
        raise ValueError(f"unknown image dataset {name!r}; valid names: "
                       f"{', '.join(d for d in data.DATASETS if not data.is_text(d))}")
    ds = data.get(name, split, root=root, size=size)
    if limit is not None:
        if limit < 1:
            raise ValueError(f"--limit must be a positive integer, received {limit}")
        import numpy as np

        ds = data.Subset(ds, np.arange(min(limit, len(ds))))
    return ds


def run_index(args):
    from ..checkpoint import load_model
    from ..retrieval import Index

    model = load_model(args.checkpoint)
    meta = model.checkpoint_meta
    name = args.dataset or meta.get("dataset")
    if not name:
        raise ValueError(f"{args.checkpoint} does not record its dataset; pass --dataset")
    size = (meta.get("input_shape") or [None, 32])[-1]
    root = args.data_dir or (meta.get("settings") or {}).get("data_dir")
    gallery = _gallery(name, args.split, root, size, args.limit)
    info = {"checkpoint": os.path.abspath(args.checkpoint), "dataset": name, "split": args.split, "size": size,
            "data_dir": root, "limit": args.limit, "classes": list(getattr(gallery, "classes", None) or
                                                                   meta.get("classes") or [])}
    index = Index.build(model, gallery, args.layer, batch_size=args.batch_size, meta=info)
    index.save(args.output)
    print(f"indexed {len(index)} images of {name} {args.split} as {index.vectors.shape[1]}-d features "
          f"({args.layer or 'input of the final layer'}) -> {args.output}")
    return 0


def run_search(args):
    from ..data.images import load_image_batch
    from ..retrieval import Index

    if args.k < 1:
        raise ValueError(f"-k must be a positive integer, received {args.k}")
    index = Index.load(args.index, backend=args.backend)
    meta, ckpt = index.meta, index.model.checkpoint_meta
    shape = ckpt.get("input_shape") or [1, meta.get("size", 32), meta.get("size", 32)]
    recipe = args.prepare if args.prepare != "auto" else {"digits": "digits", "mnist": "mnist"}.get(
        meta.get("dataset"), "resize")
    x = load_image_batch([args.image], shape, ckpt.get("normalization"), recipe=recipe, invert=args.invert)
    dist, idx = index.search(x, args.k)
    classes = meta.get("classes") or []
    name = lambda lab: classes[lab] if lab < len(classes) else str(lab)  # noqa: E731
    for rank, (i, d) in enumerate(zip(idx[0], dist[0]), 1):
        label = f"  {name(int(index.labels[i]))}" if index.labels is not None else ""
        print(f"{rank:3d}. #{int(i)}{label}  distance {float(d):.4f}")
    if args.output:
        from ..retrieval.plots import plot_search

        gallery = _gallery(meta["dataset"], meta.get("split", "train"), meta.get("data_dir"), meta.get("size", 32))
        images = gallery.get_batch(idx[0])[0] if hasattr(gallery, "get_batch") else [gallery[int(i)][0] for i in idx[0]]
        labels = index.labels[idx[0]] if index.labels is not None else None
        plot_search(x[0], images, dist[0], args.output, labels, classes, os.path.basename(args.image))
        print(f"wrote {args.output}")
    return 0
