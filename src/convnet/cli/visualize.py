"""``convnet visualize``: the pictures of what a trained network learned, and one HTML page.

    convnet visualize runs/lenet --image digit.png --out runs/lenet/viz

A thin shell over :func:`convnet.viz.report.write_report`.
"""
from __future__ import annotations

import argparse
import os

DESCRIPTION = """Write the pictures of what the network of a run directory learned, for one image:
the first layer's filters, a feature-map grid per conv layer, saliency / guided backprop /
deconvnet / occlusion / Grad-CAM maps, ZFNet's occlusion map, the penultimate-layer embedding,
the top-activating test patches with their deconvnet projections, class models, the run's
training curve and confusion matrix, and DIR/index.html tying them together (open it in a
browser; no server needed)."""

EXAMPLES = """examples:
  convnet train --out runs/lenet
  convnet visualize runs/lenet --image digit.png --out runs/lenet/viz
  convnet visualize runs/lenet --image digit.png --out viz --embedding tsne"""


def add_parser(sub):
    """Register ``visualize`` on the ``convnet`` command's subparsers; returns the parser."""
    p = sub.add_parser("visualize", help="pictures of what a trained network learned, tied together in index.html",
                       description=DESCRIPTION, epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", metavar="RUN", help="run directory (or checkpoint) written by 'convnet train'")
    p.add_argument("--image", required=True, metavar="IMAGE", help="the image (PNG/JPEG) to explain")
    p.add_argument("--out", required=True, metavar="DIR", help="where the PNGs and index.html go")
    p.add_argument("--embedding", choices=("pca", "tsne"), default="pca",
                   help="2-D projection of the penultimate features (default pca; tsne is slower)")
    p.add_argument("--limit", type=int, default=500,
                   help="test images used for the embedding and the top activations (default 500)")
    p.set_defaults(func=run)
    return p


def run(args):
    from ..viz.report import write_report

    if args.limit < 1:
        raise ValueError(f"--limit must be at least 1, received {args.limit}")
    if not os.path.exists(args.image):
        raise FileNotFoundError(f"--image {args.image} does not exist")
    files = write_report(args.run, args.image, args.out, limit=args.limit, method=args.embedding)
    for f in files:
        print(os.path.join(args.out, f))
    return 0
