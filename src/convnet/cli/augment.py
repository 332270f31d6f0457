"""``convnet augment``: a picture of what an augmentation does to training images.

    convnet augment --dataset mnist --transform elastic --n 32 -o grid.png
    convnet augment --dataset folder --data-dir photos/ --transform color-jitter -o jitter.png
    convnet augment --list

A thin shell over ``convnet.data.preview.augmentation_grid``: originals in the first row, one
augmented version of each per row below, saved with ``convnet.data.utils.save_image``.
"""
from __future__ import annotations

import argparse


def _epilog():
    from ..data.preview import AUGMENTATIONS

    names = "\n".join(f"  {name:17s} {desc}" for name, (desc, _) in AUGMENTATIONS.items())
    return ("transforms (--transform):\n" + names + "\n\nexamples:\n"
            "  convnet augment --dataset mnist --transform elastic --n 32 -o grid.png\n"
            "  convnet augment --dataset folder --data-dir photos/ --transform color-jitter -o jitter.png")


def add_parser(sub):
    p = sub.add_parser(
        "augment", help="draw a grid of training images and their augmented versions",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=_epilog(),
        description="Write a PNG grid: n training images in the first row, the same images augmented\n"
                    "(each row a fresh random draw) in the rows below.")
    p.add_argument("--dataset", default="digits", help="digits (default), mnist, fashion-mnist or folder")
    p.add_argument("--data-dir", metavar="DIR", help="MNIST files, or the image folder for --dataset folder")
    p.add_argument("--transform", default="affine", metavar="NAME", help="augmentation (list below; default affine)")
    p.add_argument("--n", type=int, default=16, help="images per row (default 16)")
    p.add_argument("--versions", type=int, default=3, help="augmented rows below the originals (default 3)")
    p.add_argument("--image-size", type=int, default=None,
                   help="image side (default: the dataset's: 28 MNIST, 32 digits, 64 folder)")
    p.add_argument("--seed", type=int, default=0, help="which images and which random draws (default 0)")
    p.add_argument("-o", "--output", default="augment.png", metavar="PNG", help="output image (default augment.png)")
    p.add_argument("--list", action="store_true", help="list the transforms and exit")
    p.set_defaults(func=run_augment)


def run_augment(args):
    from ..data.preview import AUGMENTATIONS, augmentation_grid
    from ..data.utils import save_image

    if args.list:
        print("\n".join(f"{name:17s} {desc}" for name, (desc, _) in AUGMENTATIONS.items()))
        return 0
    rows = augmentation_grid(args.dataset, args.transform, n=args.n, versions=args.versions, seed=args.seed,
                             root=args.data_dir, size=args.image_size)
    save_image(rows, args.output, nrow=args.n, padding=2, pad_value=0.5)
    print(f"{args.output}: {args.n} {args.dataset} images (first row) and {args.versions} {args.transform} "
          f"version(s) below, {rows.shape[2]}x{rows.shape[3]} pixels each")
    return 0
