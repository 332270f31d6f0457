"""``convnet export RUN --onnx out.onnx``: a trained model as an ONNX file.

A thin shell over :func:`convnet.onnx.checkpoint.export_checkpoint`: prints the file written
and, when onnxruntime is installed, the largest difference between its output and ours on a
random input.
"""
from __future__ import annotations

import argparse


def add_parser(sub):
    p = sub.add_parser(
        "export", help="write a trained model as an ONNX file (dynamic batch axis)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Export a run directory or model checkpoint to ONNX (needs the onnx package:\n"
                    "pip install 'convnet[onnx]'). The batch axis is dynamic; with onnxruntime installed,\n"
                    "its output is compared with convnet's on a random input.",
        epilog="examples:\n  convnet export runs/lenet5 --onnx lenet5.onnx\n"
               "  convnet export model.safetensors --onnx model.onnx --opset 18")
    p.add_argument("checkpoint", metavar="RUN", help="run directory or .safetensors model checkpoint")
    p.add_argument("--onnx", required=True, metavar="OUT", help="the .onnx file to write")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset version (default 17)")
    p.set_defaults(func=run_export)
    return p


def run_export(args):
    from ..onnx.checkpoint import export_checkpoint

    out, shape, diff = export_checkpoint(args.checkpoint, args.onnx, opset_version=args.opset)
    print(f"wrote {out} (input (batch, {', '.join(map(str, shape))}))")
    if diff is None:
        print("onnxruntime not installed: output not compared")
    else:
        print(f"onnxruntime max |diff| = {diff:.3g}")
    return 0
