"""``convnet serve RUN``: the drawing page and the prediction API of a checkpoint (``convnet.serve``).

    convnet serve runs/lenet5-mnist                 # http://127.0.0.1:8000/
    convnet serve runs/lenet5-mnist --port 8080 --max-upload-mb 2 --no-batching
"""
from __future__ import annotations

import argparse
import importlib.util
import os

DESCRIPTION = """Serve a checkpoint over HTTP with uvicorn: a page to draw a digit (or upload an image)
and watch the top classes, the input as the network sees it, every conv layer's feature maps and a
saliency overlay; and the API: GET /health, GET /v1/model, POST /v1/predict (multipart 'image' or
JSON {"pixels": [[...]]}, ?k=3), POST /v1/activations, the schema at /openapi.json and /docs.
Concurrent requests are batched into one forward pass (up to --max-batch, waiting --batch-wait-ms).
Needs the extra: pip install 'convnet[serve]'."""

EXAMPLES = """examples:
  convnet serve runs/lenet5-mnist                    # then open http://127.0.0.1:8000/
  convnet serve runs/lenet5-mnist --port 8080 --max-upload-mb 2
  curl -F image=@seven.png 'http://127.0.0.1:8000/v1/predict?k=3'"""


def add_parser(subparsers):
    """Register ``serve`` on the ``convnet`` command's subparsers; returns the parser."""
    p = subparsers.add_parser("serve", help="web page + HTTP prediction API for a checkpoint",
                              description=DESCRIPTION, epilog=EXAMPLES,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", metavar="RUN", help="run directory or checkpoint file")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--max-upload-mb", type=float, default=10.0,
                   help="refuse request bodies over this size with 413, while reading them (default 10)")
    p.add_argument("--max-batch", type=int, default=32, help="most requests per forward pass (default 32)")
    p.add_argument("--batch-wait-ms", type=float, default=5.0,
                   help="how long a request waits for others to share its forward pass (default 5)")
    p.add_argument("--no-batching", action="store_true", help="one forward pass per request")
    p.set_defaults(func=run)
    return p


def run(args):
    from .main import CLIError

    if importlib.util.find_spec("fastapi") is None or importlib.util.find_spec("uvicorn") is None:
        raise CLIError("the server needs FastAPI and uvicorn: pip install 'convnet[serve]'")
    if not 0 <= args.port <= 65535:
        raise CLIError(f"--port must be in 0..65535, received {args.port}")
    if not args.max_upload_mb > 0:
        raise CLIError(f"--max-upload-mb must be positive, received {args.max_upload_mb}")
    if args.max_batch < 1:
        raise CLIError(f"--max-batch must be at least 1, received {args.max_batch}")
    if not args.batch_wait_ms >= 0:
        raise CLIError(f"--batch-wait-ms must be >= 0, received {args.batch_wait_ms}")
    if not os.path.exists(args.checkpoint):
        raise CLIError(f"{args.checkpoint}: no such checkpoint file or run directory")
    from ..serve import make_server

    server = make_server(args.checkpoint, args.host, args.port, log_level="info", max_upload_mb=args.max_upload_mb,
                         batching=not args.no_batching, max_batch=args.max_batch, max_wait_ms=args.batch_wait_ms)
    print(f"serving {args.checkpoint} on http://{args.host}:{args.port}/  (API schema: /docs; Ctrl-C stops)",
          flush=True)
    server.run()
    return 0
