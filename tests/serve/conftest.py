"""Fixtures for the server tests: a LeNet-5 checkpoint trained here, and a real uvicorn server on loopback.

The checkpoint is trained once per session: on 10,000 MNIST training digits for 2 epochs (about 10 s,
~95% test accuracy) where ``$CONVNET_DATA`` has MNIST, else on the 1,295 scikit-learn digits for 3 epochs.
"""
import os
import socket
import threading
import time

import numpy as np
import pytest


def _has_mnist():
    root = os.environ.get("CONVNET_DATA")
    return bool(root) and os.path.isfile(os.path.join(root, "mnist", "t10k-images-idx3-ubyte.gz"))


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory):
    """``(path, dataset name)`` of a LeNet-5 checkpoint with the metadata ``convnet train`` writes."""
    import convnet as cn
    from convnet import data, models, optim
    from convnet.train import Trainer

    cn.manual_seed(0)
    if _has_mnist():
        full = data.mnist("train", pad=2)
        train, epochs = data.Subset(full, list(range(10_000))), 2
    else:
        full = train = data.digits("train", size=32)
        epochs = 3
    model = models.get("lenet5")
    meta = {"dataset": full.name, "classes": list(full.classes), "normalization": full.normalization,
            "input_shape": list(full.input_shape), "dark_background": True}
    trainer = Trainer(model, optim.Adam(model.parameters(), lr=2e-3), meta=meta, keep="last")
    trainer.fit(data.DataLoader(train, batch_size=64, shuffle=True, seed=0), None, epochs=epochs, progress=False)
    path = tmp_path_factory.mktemp("serve") / "model.safetensors"
    cn.save(model, path, meta=meta)
    return str(path), full.name


@pytest.fixture(scope="session")
def test_digits(checkpoint):
    """``(images (N, 28, 28) uint8 0-255, labels (N,))``: real held-out digits of the checkpoint's dataset."""
    if checkpoint[1] == "mnist":  # read straight from the IDX files (shared/datasets/README.md)
        import gzip

        root = os.path.join(os.environ["CONVNET_DATA"], "mnist")
        with gzip.open(os.path.join(root, "t10k-images-idx3-ubyte.gz")) as f:
            x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
        with gzip.open(os.path.join(root, "t10k-labels-idx1-ubyte.gz")) as f:
            y = np.frombuffer(f.read(), np.uint8, offset=8)
        return x[:200], y[:200].astype(np.int64)
    # The 8x8 scikit-learn digits are too coarse to judge answers by (a 3-epoch model gets ~80% of them):
    # the tests that check answers on real digits need MNIST.
    pytest.skip("needs MNIST in $CONVNET_DATA (see ../shared/datasets/README.md) to check answers on real digits")


class LiveServer:
    """A uvicorn server in a thread on ``127.0.0.1`` at a free port; ``url`` is its base address."""

    def __init__(self, checkpoint, **app_kwargs):
        from convnet.serve import make_server

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))  # loopback only; port 0: the kernel picks a free one
        port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.server = make_server(checkpoint, "127.0.0.1", port, **app_kwargs)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


@pytest.fixture(scope="module")
def live_server(checkpoint):
    with LiveServer(checkpoint[0], max_upload_mb=1) as server:
        yield server
