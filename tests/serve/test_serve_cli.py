"""``convnet serve``: the command starts a real server; bad options are one line and exit 2."""
import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from convnet.cli.main import main


def test_import_convnet_does_not_import_the_server_stack():
    code = "import convnet, convnet.cli.main, sys; print(sorted(m for m in ('fastapi', 'uvicorn', 'starlette') " \
           "if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("argv, message", [
    (["serve", "/nonexistent/run"], "no such checkpoint"),
    (["serve", "RUN", "--port", "70000"], "--port must be in 0..65535"),
    (["serve", "RUN", "--max-upload-mb", "0"], "--max-upload-mb must be positive"),
    (["serve", "RUN", "--max-batch", "0"], "--max-batch must be at least 1"),
])
def test_bad_options(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("convnet serve: error: ") and message in err and err.count("\n") == 1


def test_not_a_checkpoint(tmp_path, capsys):
    bad = tmp_path / "model.safetensors"
    bad.write_bytes(b"not a checkpoint at all")
    assert main(["serve", str(bad)]) == 2
    assert capsys.readouterr().err.startswith("convnet serve: error: ")


def test_convnet_serve_runs_a_server(checkpoint):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "convnet", "serve", checkpoint[0], "--port", str(port),
                             "--no-batching"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=dict(os.environ, PYTHONUNBUFFERED="1"))
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read()
                time.sleep(0.2)
        assert r.json() == {"status": "ok"}
        assert httpx.get(f"http://127.0.0.1:{port}/v1/model").json()["name"] == "lenet5"
    finally:
        proc.terminate()
        out = proc.communicate(timeout=20)[0]
    assert f"serving {checkpoint[0]} on http://127.0.0.1:{port}/" in out
