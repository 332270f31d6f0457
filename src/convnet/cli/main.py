"""The ``convnet`` command (also ``python -m convnet``): train, eval, predict, summary, filter.

Each subcommand lives in its own module (``cli/train.py``, ``cli/infer.py``, ``cli/filter.py``);
this file builds the argument parser and turns every user error into one line on stderr and
exit status 2 (set ``CONVNET_DEBUG=1`` to see the traceback instead).
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import sys

DESCRIPTION = """convnet: convolutional neural networks from first principles on NumPy.

Train LeNet-5 on real handwritten digits in under a minute with no arguments at all:

  convnet train"""

EPILOG = """commands:
  train     train a model on digits / MNIST / Fashion-MNIST and write a run directory
  eval      accuracy, top-k accuracy and confusion matrix of a checkpoint on a test set
  predict   classify image files (PNG/JPEG) with a checkpoint
  summary   layer table of a named model: output shapes, parameters, MACs, receptive fields
  filter    apply a classic image kernel (Sobel, Laplacian, ...) to an image
  finetune  transfer a trained model to a new dataset (new head; frozen, fine-tuned or cached base)
  features  cache a trained model's features of a dataset in a safetensors file
  serve     web page (draw a digit, see every layer) and HTTP prediction API for a checkpoint
  augment   grid of training images and their augmented versions (elastic, shear, colour, ...)
  concepts  look up a lecture term: the convnet function or class and the page that shows it
  visualize filters, feature maps, saliency, deconvnet, Grad-CAM, embedding of a run in one HTML page
  export    write a trained model as an ONNX file (checked in onnxruntime when installed)
  index     embed a dataset with a trained model into a searchable image index
  search    find the images of an index most similar to a query image (picture of the neighbours)
  detect    find digits in an image with a trained detector; draw boxes, labels and scores
  reproduce train a reproduction of a published result (LeNet-5 on MNIST, ...) with its seed and budget

'convnet COMMAND --help' describes each command with an example."""


class CLIError(Exception):
    """A user error reported as one line (no traceback)."""


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error message (the usage is in ``--help``)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


_FMT = argparse.RawDescriptionHelpFormatter


def _add_train(sub):
    from .train import DEFAULTS, run_train

    d = DEFAULTS
    p = sub.add_parser(
        "train", help="train a model and write a run directory", formatter_class=_FMT,
        description="Train a model (default: LeNet-5 on the 1,797 real 8x8 digits bundled with scikit-learn,\n"
                    "resized to 32x32), validate every epoch, save the final (or --keep best) weights as\n"
                    "the checkpoint, then load it back and report its test accuracy. Writes\n"
                    "model.safetensors + model.json, history.json/.csv, training_curve.png and\n"
                    "confusion_matrix.png into the run directory.",
        epilog="examples:\n"
               "  convnet train                                   # LeNet-5 on digits, ~98% test accuracy\n"
               "  convnet train --epochs 5 --optimizer sgd --lr 0.05 --momentum 0.9 --out runs/sgd\n"
               "  convnet train --dataset mnist --data-dir ~/datasets --epochs 3 --batch-size 128\n"
               "  convnet train --model resnet20 --model-option residual=False   # a plain net (He et al.)\n"
               "  convnet train --resume runs/sgd                 # finish an interrupted run\n"
               "  convnet train --resume runs/sgd --epochs 10     # extend it to 10 epochs\n"
               "  mpirun -n 2 convnet train --distributed --out runs/ddp  # data-parallel on 2 MPI ranks\n\n"
               "MNIST and Fashion-MNIST are read from --data-dir, $CONVNET_DATA or ~/.cache/convnet\n"
               "(in DIR/mnist/ or DIR/fashion-mnist/), else downloaded once with SHA-256 checks.")
    p.add_argument("--model", default=d["model"], help=f"model name (default {d['model']}; see "
                   "'convnet summary --list')")
    p.add_argument("--model-option", metavar="KEY=VALUE", action="append", default=None, dest="model_options",
                   help="an option of the model's builder, repeatable (e.g. pool=max+mean for textcnn, "
                        "residual=False for resnet20, lcn=False for jarrett); VALUE is a Python literal or a string")
    p.add_argument("--dataset", default=d["dataset"], help="digits (default, offline), mnist, fashion-mnist or "
                   "folder (--data-dir DIR with one sub-folder of images per class)")
    p.add_argument("--data-dir", metavar="DIR", help="where MNIST/Fashion-MNIST files are (overrides $CONVNET_DATA)")
    p.add_argument("--epochs", type=int, default=None,
                   help=f"total epochs (default {d['epochs']}; with --resume: the run's own total, or a new total "
                        "to extend it, re-planning the lr schedule)")
    p.add_argument("--batch-size", type=int, default=d["batch_size"],
                   help=f"training batch size (default {d['batch_size']})")
    p.add_argument("--lr", type=float, default=None,
                   help=f"learning rate (default {d['lr']['adam']} for adam/adamw/rmsprop, {d['lr']['sgd']} for sgd)")
    p.add_argument("--optimizer", default=d["optimizer"], choices=("sgd", "adam", "adamw", "rmsprop"),
                   help=f"update rule (default {d['optimizer']})")
    p.add_argument("--momentum", type=float, default=d["momentum"],
                   help=f"momentum for sgd and rmsprop (default {d['momentum']})")
    p.add_argument("--weight-decay", type=float, default=d["weight_decay"],
                   help=f"L2 penalty / decoupled decay for adamw (default {d['weight_decay']})")
    p.add_argument("--schedule", default=d["schedule"], choices=("none", "cosine", "step", "plateau"),
                   help=f"learning-rate schedule over the epochs (default {d['schedule']})")
    p.add_argument("--augment", default=d["augment"], choices=("none", "crop", "crop+flip", "affine", "elastic"),
                   help="training-image augmentation: crop = random shifts by up to 2 pixels (default), "
                        "crop+flip = crop and horizontal mirroring (clothes, photos), affine = shifts, rotations up "
                        "to 10 degrees and 0.9-1.1 scaling, elastic = Simard et al.'s elastic distortion "
                        "(alpha 34, sigma 4), none")
    p.add_argument("--keep", default=d["keep"], choices=("last", "best"),
                   help="which epoch's weights become the checkpoint: last (default; the cosine schedule ends on "
                        "the most reliable weights) or best (highest validation accuracy)")
    p.add_argument("--patience", type=int, default=None,
                   help="early stopping: stop after this many epochs without a better validation accuracy")
    p.add_argument("--image-size", type=int, default=None,
                   help="side of the square input (default: the model's, e.g. 32 for lenet5)")
    p.add_argument("--seed", type=int, default=d["seed"],
                   help=f"random seed; the same seed repeats the run bit for bit (default {d['seed']})")
    p.add_argument("--out", metavar="DIR", help="run directory (default runs/<model>-<dataset>-<date>-<time>)")
    p.add_argument("--resume", metavar="RUN_DIR",
                   help="continue the run in RUN_DIR from its last epoch with its own settings (and finish a run "
                        "that stopped before its test evaluation)")
    p.add_argument("--force", action="store_true",
                   help="train into a non-empty --out directory, replacing the run files there")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--workers", type=int, default=0, metavar="N",
                   help="loader processes that read and augment training batches while the model trains "
                        "(DataLoader num_workers; default 0: in this process). Same batches, same result; on a "
                        "small machine leave the training step a core or two (2 cores: --workers 1)")
    p.add_argument("--distributed", action="store_true",
                   help="data-parallel over the ranks of 'mpirun -n N convnet train --distributed ...' (needs "
                        "convnet[mpi]); --batch-size is the global batch, split evenly; only rank 0 writes files")
    p.set_defaults(func=run_train)


def _add_eval(sub):
    from .infer import run_eval

    p = sub.add_parser(
        "eval", help="evaluate a checkpoint on a test set", formatter_class=_FMT,
        description="Load a checkpoint (model.safetensors, its model.json, or a run directory) and report\n"
                    "loss, accuracy, top-k accuracy and the confusion matrix on the test split of the\n"
                    "dataset it was trained on (or --dataset; a warning says when that dataset, its input\n"
                    "normalisation or its image size differs from the checkpoint's).",
        epilog="example:\n  convnet eval runs/lenet5-digits-20250101-120000\n"
               "  convnet eval runs/mnist/model.safetensors --dataset mnist --data-dir ~/datasets")
    p.add_argument("checkpoint", metavar="CHECKPOINT", help="checkpoint file or run directory")
    p.add_argument("--dataset", help="digits, mnist or fashion-mnist (default: the checkpoint's)")
    p.add_argument("--data-dir", metavar="DIR", help="where MNIST/Fashion-MNIST files are")
    p.add_argument("--split", default="test", help="test (default), train, or val (digits only)")
    p.add_argument("--batch-size", type=int, default=256, help="evaluation batch size (default 256)")
    p.add_argument("--top-k", type=int, default=None,
                   help="k of the top-k accuracy (default 5, or the number of classes if fewer)")
    p.set_defaults(func=run_eval)


def _add_predict(sub):
    from .infer import run_predict

    p = sub.add_parser(
        "predict", help="classify PNG/JPEG images with a checkpoint", formatter_class=_FMT,
        description="Classify image files. Each image is converted to the model's channels, scaled to\n"
                    "[0, 1], brought to the model's input size the way the training images were made\n"
                    "(--prepare) and normalised with the statistics stored in the checkpoint. The digit\n"
                    "datasets have light ink on a dark background: with --invert auto (default) an image\n"
                    "whose border is light is inverted first, so a dark digit on white paper works too.\n"
                    "Transparent pixels are background (white behind dark ink, black behind light ink);\n"
                    "16-bit images are scaled by their bit depth. A blank image gets a warning; a file\n"
                    "that cannot be read (or has over 50 megapixels) gets one error line, the others are\n"
                    "still classified, and the exit status is then 2.",
        epilog="examples:\n  convnet predict runs/lenet5-digits-20250101-120000 seven.png three.jpg --top-k 3\n"
               "  convnet predict --model lenet5 --weights mnist seven.png --json   # shipped weights")
    p.add_argument("checkpoint", metavar="CHECKPOINT", nargs="?",
                   help="checkpoint file or run directory (omit it with --model/--weights)")
    p.add_argument("images", metavar="IMAGE", nargs="*", help="image files (PNG, JPEG, ...)")
    p.add_argument("--model", metavar="NAME", help="use shipped weights instead of a checkpoint: the model "
                   "name (with --weights; see 'convnet summary --list')")
    p.add_argument("--weights", metavar="NAME", help="name of the shipped weights of --model, e.g. mnist or "
                   "digits for lenet5 (cn.models.available_weights)")
    p.add_argument("--json", action="store_true",
                   help='print one JSON object per image: {"file": ..., "top": [{"class": 7, "label": "7", '
                        '"probability": 0.98}, ...]}')
    p.add_argument("--text", action="append", metavar="SENTENCE",
                   help="a sentence to classify with a text model (repeat for several)")
    p.add_argument("--top-k", type=int, default=None,
                   help="how many classes to print per image (default 3, or the number of classes if fewer)")
    p.add_argument("--invert", default="auto", choices=("auto", "yes", "no"),
                   help="invert grey levels first (default auto: when the image border is light)")
    p.add_argument("--prepare", default="auto", choices=("auto", "digits", "mnist", "resize"),
                   help="how an image becomes a model input: auto (default) follows the training data: "
                        "digits = crop to the ink, square, average down to 8x8, resize; mnist = fit the ink "
                        "in 20x20, centre it in 28x28, pad; resize = scale the whole image")
    p.set_defaults(func=run_predict)


def _add_summary(sub):
    from .infer import run_summary

    p = sub.add_parser(
        "summary", help="layer table of a named model", formatter_class=_FMT,
        description="Print a model's layers with output shapes, parameter counts, multiply-accumulates and\n"
                    "receptive fields, for the input shape the model is designed for or --input-shape.",
        epilog="examples:\n  convnet summary lenet5\n  convnet summary resnet18 --input-shape 3,224,224\n"
               "  convnet summary --list")
    p.add_argument("model", metavar="MODEL", nargs="?", help="model name (see --list)")
    p.add_argument("--input-shape", metavar="C,H,W", help="input shape, e.g. 3,224,224 (default: the model's)")
    p.add_argument("--num-classes", type=int, default=None, help="output classes (default: the paper's)")
    p.add_argument("--list", action="store_true", help="list the model names and exit")
    p.set_defaults(func=run_summary)


def _add_filter(sub):
    # The filter subcommand is optional: registered when its module is present.
    if importlib.util.find_spec("convnet.cli.filter") is None:  # pragma: no cover
        return
    from . import filter as filter_cli

    filter_cli.add_parser(sub)


def build_parser():
    parser = _Parser(prog="convnet", description=DESCRIPTION, epilog=EPILOG, formatter_class=_FMT)
    parser.add_argument("--version", action="version", version=f"convnet {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    from . import serve as _serve_cli
    from . import finetune as _finetune_cli
    from . import augment as _augment_cli
    from . import concepts as _concepts_cli
    from . import visualize as _visualize_cli
    from . import export as _export_cli
    from . import retrieval as _retrieval_cli
    from . import detect as _detect_cli
    from . import reproduce as _reproduce_cli

    for add in (_add_train, _add_eval, _add_predict, _add_summary, _add_filter, _serve_cli.add_parser,
                _finetune_cli.add_parser, _augment_cli.add_parser, _concepts_cli.add_parser,
                _visualize_cli.add_parser, _export_cli.add_parser, _detect_cli.add_parser,
                _reproduce_cli.add_parser, _retrieval_cli.add_parser):
        add(sub)
    return parser


def _version():
    from .. import __version__

    return __version__


def main(argv=None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 0
    prog = f"convnet {args.command}"
    try:
        status = args.func(args)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `convnet eval ... | head`: stop quietly like other tools
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except MemoryError as err:
        if os.environ.get("CONVNET_DEBUG"):
            raise
        detail = f" ({' '.join(str(err).split())})" if str(err) else ""
        print(f"{prog}: error: out of memory{detail}; try a smaller --batch-size or --image-size, or a smaller "
              "model", file=sys.stderr)
        return 2
    except (CLIError, ValueError, TypeError, KeyError, OSError, FloatingPointError, ImportError) as err:
        if os.environ.get("CONVNET_DEBUG"):
            raise
        msg = err.args[0] if isinstance(err, KeyError) and err.args else str(err)
        print(f"{prog}: error: {' '.join(str(msg).split())}", file=sys.stderr)
        return 2
    return int(status or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
