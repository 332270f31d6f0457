"""Load test of ``convnet serve``: 16 concurrent clients for 30 s sending real MNIST test digits.

    CONVNET_DATA=../shared/datasets .venv/bin/python benchmarks/serve_load.py [--checkpoint RUN]
        [--clients 16] [--duration 30] [--max-requests 200000]

Three phases, each against a fresh server in its own process (``python -m convnet serve``, loopback
only), the clients in this process (asyncio + httpx, PNG uploads to ``POST /v1/predict``):

1. batching off (``--no-batching``): one forward pass per request;
2. batching on (the default: up to 32 requests, 5 ms);
3. batching on with hostile requests mixed in (1 in 4: not an image, truncated PNG, a 25-megapixel
   decompression bomb, an 11 MB upload, NaN pixels, ragged JSON): each must get its 4xx, and every
   good request must get exactly the class the same digit got in phase 2.

Prints requests/s, p50/p99 latency, errors and accuracy per phase. Without ``--checkpoint`` a LeNet-5
is trained first on 20,000 MNIST training digits for 2 epochs (about 30 s). Bounded: each phase stops
after ``--duration`` seconds or ``--max-requests`` requests.
"""
from __future__ import annotations

import argparse
import asyncio
import gzip
import io
import os
import socket
import subprocess
import sys
import tempfile
import time

import numpy as np


def mnist_test(root):
    folder = os.path.join(root, "mnist")
    with gzip.open(os.path.join(folder, "t10k-images-idx3-ubyte.gz")) as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    with gzip.open(os.path.join(folder, "t10k-labels-idx1-ubyte.gz")) as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8)
    return x, y.astype(np.int64)


def png(a):
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="PNG")
    return buf.getvalue()


def train_checkpoint(path):
    import convnet as cn
    from convnet import data, models, optim
    from convnet.train import Trainer

    cn.manual_seed(0)
    full = data.mnist("train", pad=2)
    model = models.get("lenet5")
    meta = {"dataset": full.name, "classes": list(full.classes), "normalization": full.normalization,
            "input_shape": list(full.input_shape), "dark_background": True}
    trainer = Trainer(model, optim.Adam(model.parameters(), lr=2e-3), meta=meta, keep="last")
    loader = data.DataLoader(data.Subset(full, list(range(20_000))), batch_size=64, shuffle=True, seed=0)
    trainer.fit(loader, None, epochs=2, progress=False)
    cn.save(model, path, meta=meta)


def hostile_requests(digit_png):
    """``(kwargs for httpx.post, expected status)`` of each hostile request."""
    from PIL import Image

    bomb = io.BytesIO()
    Image.new("L", (5000, 5000)).save(bomb, format="PNG")
    json_type = {"Content-Type": "application/json"}
    return [
        ({"files": {"image": ("x.png", b"not an image at all")}}, 400),
        ({"files": {"image": ("x.png", digit_png[: len(digit_png) // 2])}}, 400),
        ({"files": {"image": ("bomb.png", bomb.getvalue())}}, 413),
        ({"files": {"image": ("big.png", b"\0" * (11 * 1024 * 1024))}}, 413),
        ({"content": b'{"pixels": [[0, NaN], [1, 2]]}', "headers": json_type}, 422),
        ({"content": b'{"pixels": [[0, 1], [2]]}', "headers": json_type}, 422),
    ]


class Server:
    """``python -m convnet serve`` in its own process on a free loopback port."""

    def __init__(self, checkpoint, *flags):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen([sys.executable, "-m", "convnet", "serve", checkpoint, "--port", str(self.port),
                                      *flags], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def __enter__(self):
        import httpx

        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(self.url + "/health", timeout=2)
                return self
            except httpx.TransportError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the server did not start")
                time.sleep(0.2)

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(20)


async def load(url, bodies, labels, clients, duration, max_requests, hostile=(), expected=None):
    """Run ``clients`` concurrent loops for ``duration`` s; returns the phase's statistics."""
    import httpx

    latencies, answers, bad = [], {}, []
    counter = {"sent": 0, "hostile": 0, "hostile_ok": 0}
    stop = time.monotonic() + duration
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def client(c, http):
        i = c
        while time.monotonic() < stop and counter["sent"] < max_requests:
            counter["sent"] += 1
            if hostile and counter["sent"] % 4 == 0:
                kwargs, status = hostile[(counter["sent"] // 4) % len(hostile)]
                try:
                    r = await http.post(url + "/v1/predict", **kwargs)
                    counter["hostile_ok"] += r.status_code == status
                except httpx.HTTPError:
                    pass  # the server may close a connection it refused (413 before reading the body)
                counter["hostile"] += 1
                continue
            j = i % len(bodies)
            i += clients
            t0 = time.perf_counter()
            try:
                r = await http.post(url + "/v1/predict?k=1", files={"image": ("d.png", bodies[j])})
                ok = r.status_code == 200
            except httpx.HTTPError as e:
                ok, r = False, e
            latencies.append(time.perf_counter() - t0)
            if ok:
                answers.setdefault(j, []).append(r.json()["predictions"][0]["class"])
            else:
                bad.append(str(getattr(r, "status_code", r)))

    start = time.monotonic()
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        await asyncio.gather(*(client(c, http) for c in range(clients)))
    wall = time.monotonic() - start
    flat = [(j, a) for j, got in answers.items() for a in got]
    lat = np.array(latencies) * 1000
    out = {"requests": len(latencies), "rps": len(latencies) / wall, "p50": float(np.percentile(lat, 50)),
           "p99": float(np.percentile(lat, 99)), "errors": len(bad),
           "accuracy": float(np.mean([labels[j] == a for j, a in flat])) if flat else float("nan"),
           "answers": {j: got[0] for j, got in answers.items()},
           "inconsistent": sum(len(set(got)) > 1 for got in answers.values())}
    if expected is not None:
        out["differs"] = sum(a != expected[j] for j, a in flat if j in expected)
        out["hostile"], out["hostile_ok"] = counter["hostile"], counter["hostile_ok"]
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", help="checkpoint or run directory (default: train a LeNet-5 on MNIST first)")
    p.add_argument("--data-dir", default=os.environ.get("CONVNET_DATA"), help="folder with mnist/ (default "
                   "$CONVNET_DATA)")
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--duration", type=float, default=30.0, help="seconds per phase")
    p.add_argument("--max-requests", type=int, default=200_000, help="cap per phase")
    p.add_argument("--digits", type=int, default=2000, help="distinct MNIST test digits sent (cycled)")
    args = p.parse_args()
    if not args.data_dir:
        sys.exit("serve_load.py: set $CONVNET_DATA or --data-dir to the folder with mnist/")
    t_start = time.monotonic()
    x, y = mnist_test(args.data_dir)
    bodies, labels = [png(a) for a in x[:args.digits]], y[:args.digits]
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = args.checkpoint
        if ckpt is None:
            ckpt = os.path.join(tmp, "model.safetensors")
            t0 = time.monotonic()
            train_checkpoint(ckpt)
            print(f"trained LeNet-5 on 20,000 MNIST digits, 2 epochs, in {time.monotonic() - t0:.0f} s", flush=True)
        print(f"{args.clients} clients, {args.duration:g} s per phase, PNG uploads of {len(bodies)} MNIST test "
              "digits to POST /v1/predict", flush=True)
        rows = []
        for name, flags, mixed in (("batching off", ["--no-batching"], False), ("batching on", [], False),
                                   ("batching on + 1/4 hostile", [], True)):
            with Server(ckpt, *flags) as server:
                expected = rows[1][1]["answers"] if mixed else None
                stats = asyncio.run(load(server.url, bodies, labels, args.clients, args.duration,
                                         args.max_requests, hostile_requests(bodies[0]) if mixed else (), expected))
            rows.append((name, stats))
            extra = (f"  hostile {stats['hostile_ok']}/{stats['hostile']} got their 4xx, good answers differing "
                     f"from phase 2: {stats['differs']}") if mixed else ""
            print(f"{name:27s} {stats['requests']:6d} requests  {stats['rps']:7.1f} req/s  p50 {stats['p50']:6.1f} ms  "
                  f"p99 {stats['p99']:6.1f} ms  errors {stats['errors']}  accuracy {stats['accuracy']:.2%}{extra}",
                  flush=True)
    print("\n| phase | requests | req/s | p50 ms | p99 ms | errors | accuracy |\n|---|---|---|---|---|---|---|")
    for name, s in rows:
        print(f"| {name} | {s['requests']} | {s['rps']:.1f} | {s['p50']:.1f} | {s['p99']:.1f} | {s['errors']} | "
              f"{s['accuracy']:.2%} |")
    print(f"\nbatching gain: {rows[1][1]['rps'] / rows[0][1]['rps']:.2f}x requests/s; "
          f"wall time {time.monotonic() - t_start:.0f} s")


if __name__ == "__main__":
    main()
