"""``convnet filter``: run an image through a classic kernel, or through all of them.

    convnet filter sobel_x photo.png -o edges.png
    convnet filter --kernel "1,0,-1;1,0,-1;1,0,-1" photo.png -o edges.png
    convnet filter --gallery photo.png -o gallery.png
    convnet filter --list

The image is read as grayscale (or per channel with ``--color``), filtered with
``convnet.filters.correlate2d`` (``--convolve`` flips the kernel first) and the response is
rescaled to 0..255 (``--scale``, default ``abs``: ``255·|r|/max|r|``).
"""
from __future__ import annotations

import argparse
import os
import sys

DESCRIPTION = """Run an image through a classic kernel (Sobel, Laplacian, Gaussian, ...) or
through all of them.

The image is read as grayscale (or per channel with --color) and filtered by correlation, as a
CNN layer does (--convolve flips the kernel first: true convolution)."""

USAGE = """%(prog)s [options] KERNEL IMAGE [-o OUT]
       %(prog)s [options] --kernel ROWS IMAGE [-o OUT]
       %(prog)s [options] --gallery IMAGE [-o OUT]
       %(prog)s --list"""

EXAMPLES = """examples:
  convnet filter sobel_x photo.png -o edges.png
  convnet filter --kernel "1,0,-1;1,0,-1;1,0,-1" photo.png -o edges.png
  convnet filter --kernel="-1,0,1;-2,0,2;-1,0,1" photo.png   (use = when the kernel starts with -)
  convnet filter gaussian5 photo.png --scale clip --color -o blurred.png
  convnet filter --gallery photo.png -o gallery.png
  convnet filter --list

scaling of the (signed) response to 0..255:
  abs     255*|r|/max|r|  edge strength whatever its sign; black = nothing (default)
  minmax  255*(r-min)/(max-min)  keeps the sign; zero response is mid-grey
  clip    clip(r, 0, 255)  no rescaling; for kernels summing to 1 (box, gaussian5, sharpen)
"""


def _configure(p):
    p.add_argument("args", nargs="*", metavar="[KERNEL] IMAGE",
                   help="a named kernel (see --list) and the image file; with --kernel or --gallery "
                        "only the image")
    p.add_argument("-o", "--output", metavar="OUT",
                   help="output image (default: <image>_<kernel>.png or <image>_gallery.png next to "
                        "the input)")
    p.add_argument("-k", "--kernel", metavar="ROWS",
                   help='custom kernel: rows split by ";", entries by "," (e.g. "1,0,-1;1,0,-1;1,0,-1"; '
                        "fractions like 1/9 allowed)")
    p.add_argument("-g", "--gallery", action="store_true",
                   help="render the image through every named kernel as one labelled grid")
    p.add_argument("--list", action="store_true", help="print the named kernels and exit")
    p.add_argument("--padding", default="same",
                   help="'same' (default, output as large as the input), 'valid' or an int")
    p.add_argument("--stride", type=int, default=1, help="step between windows (default 1)")
    p.add_argument("--convolve", action="store_true",
                   help="true convolution (flip the kernel) instead of correlation as in CNN layers")
    p.add_argument("--scale", choices=("abs", "minmax", "clip"), default="abs",
                   help="how the response is mapped to 0..255 (default abs, see below)")
    p.add_argument("--color", action="store_true", help="filter each RGB channel instead of grayscale")
    return p


def add_parser(subparsers):
    """Register ``filter`` on the ``convnet`` command's subparsers; returns the parser."""
    p = subparsers.add_parser(
        "filter", help="apply a classic image kernel (Sobel, Laplacian, ...) or a gallery of them",
        usage=USAGE, description=DESCRIPTION,
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    _configure(p)
    p.set_defaults(func=run)
    return p


def _padding(text):
    if text in ("same", "valid"):
        return text
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"--padding must be 'same', 'valid' or an int, got {text!r}") from None


def _default_output(image_path, tag):
    stem, _ = os.path.splitext(image_path)
    return f"{stem}_{tag}.png"


def _main(args):
    from .. import filters

    if args.list:
        for name, k in filters.KERNELS.items():
            rows = ";".join(",".join(f"{v:g}" for v in row) for row in k)
            print(f"{name:16s} {k.shape[0]}x{k.shape[1]}  {rows}")
        return 0
    n_pos = 1 if (args.kernel or args.gallery) else 2
    if len(args.args) != n_pos:
        what = "IMAGE" if n_pos == 1 else "KERNEL IMAGE (or --kernel ROWS IMAGE, or --gallery IMAGE)"
        raise ValueError(f"expected {what}, got {len(args.args)} positional argument(s): {args.args}")
    if args.kernel and args.gallery:
        raise ValueError("--kernel and --gallery cannot be combined")
    image_path = args.args[-1]
    padding = _padding(args.padding)
    if args.gallery:
        image = filters.load_image(image_path)
        out = args.output or _default_output(image_path, "gallery")
        filters.gallery(image, path=out, padding=padding, flip=args.convolve, scaling=args.scale)
    else:
        if args.kernel:
            kernel, tag = filters.parse_kernel(args.kernel), "custom"
        else:
            kernel, tag = filters.get_kernel(args.args[0]), args.args[0]
        image = filters.load_image(image_path, mode="RGB" if args.color else "L")
        op = filters.convolve2d if args.convolve else filters.correlate2d
        response = op(image, kernel, padding=padding, stride=args.stride)
        out = args.output or _default_output(image_path, tag)
        filters.save_image(filters.to_uint8(response, args.scale), out)
    print(f"wrote {out}")
    return 0


def run(args) -> int:
    """Execute ``convnet filter``; bad input prints one line to stderr and returns 2."""
    try:
        return _main(args)
    except (ValueError, TypeError, OSError) as err:  # OSError covers FileNotFoundError
        print(f"convnet filter: error: {err}", file=sys.stderr)
        return 2


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="convnet filter", usage=USAGE, description=DESCRIPTION,
                                     epilog=EXAMPLES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    _configure(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
