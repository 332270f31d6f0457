"""The HTTP API against a real uvicorn server on 127.0.0.1 (tests/serve/conftest.py), as a client uses it."""
import io
import struct
import zlib

import httpx
import numpy as np
import pytest


def png(a):
    """uint8 (H, W) -> PNG bytes (Pillow)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.asarray(a, np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def post_image(server, data, k=3, path="/v1/predict", filename="digit.png"):
    return httpx.post(f"{server.url}{path}?k={k}", files={"image": (filename, data, "image/png")}, timeout=30)


def post_json(server, body, path="/v1/predict", **params):
    if isinstance(body, (bytes, str)):
        return httpx.post(f"{server.url}{path}", content=body, params=params,
                          headers={"Content-Type": "application/json"}, timeout=30)
    return httpx.post(f"{server.url}{path}", json=body, params=params, timeout=30)


def top1(response):
    assert response.status_code == 200, response.text
    return response.json()["predictions"][0]["class"]


def test_health_and_model(live_server, checkpoint):
    assert httpx.get(f"{live_server.url}/health").json() == {"status": "ok"}
    info = httpx.get(f"{live_server.url}/v1/model").json()
    assert info["name"] == "lenet5"
    assert info["classes"] == [str(i) for i in range(10)]
    assert info["input_shape"] == [1, 32, 32]
    assert info["parameters"] == 61_706  # LeNet-5's count (LeCun et al. 1998 / torch twin in benchmarks/)
    assert info["dataset"] == checkpoint[1]


def test_predict_png_real_digits(live_server, test_digits):
    images, labels = test_digits
    answers = [post_image(live_server, png(img)).json() for img in images[:40]]
    predicted = np.array([a["predictions"][0]["class"] for a in answers])
    assert (predicted == labels[:40]).mean() >= 0.9
    for a in answers:
        probs = [p["probability"] for p in a["predictions"]]
        assert len(probs) == 3 and probs == sorted(probs, reverse=True) and sum(probs) <= 1 + 1e-6
        assert all(p["label"] == str(p["class"]) for p in a["predictions"])


def test_predict_json_pixels_agrees_with_png(live_server, test_digits):
    images, labels = test_digits
    for img in images[:5]:
        by_png = post_image(live_server, png(img), k=10).json()["predictions"]
        by_json = post_json(live_server, {"pixels": img.tolist()}, k=10).json()["predictions"]
        chw = post_json(live_server, {"pixels": img[None].tolist()}, k=10).json()["predictions"]
        assert [p["class"] for p in by_png] == [p["class"] for p in by_json] == [p["class"] for p in chw]
        np.testing.assert_allclose([p["probability"] for p in by_png], [p["probability"] for p in by_json],
                                   atol=1e-6)
        rgb = np.repeat(img[None], 3, axis=0)  # C x H x W colour: grey = luma of equal channels
        assert post_json(live_server, {"pixels": rgb.tolist()}).json()["predictions"][0]["class"] == by_png[0]["class"]
    # a dark digit on white paper (what a phone photo gives) is inverted like `convnet predict` does
    assert top1(post_image(live_server, png(255 - images[0]))) == labels[0]


def test_k(live_server, test_digits):
    img = test_digits[0][0]
    preds = post_image(live_server, png(img), k=10).json()["predictions"]
    assert sorted(p["class"] for p in preds) == list(range(10))
    assert sum(p["probability"] for p in preds) == pytest.approx(1.0, abs=1e-5)
    assert len(post_image(live_server, png(img)).json()["predictions"]) == 3  # default k
    for k in (0, 11, -1):
        r = post_image(live_server, png(img), k=k)
        assert r.status_code == 422, (k, r.text)


def _png_header_only(width, height):
    """A PNG whose header declares ``width x height`` 8-bit grey pixels, with a tiny IDAT (a bomb's header)."""
    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + \
        chunk(b"IEND", b"")


def _hostile(server, digit_png):
    """(name, response) for every hostile request; the server has a 1 MB upload limit."""
    from PIL import Image

    bomb = io.BytesIO()
    Image.new("L", (5000, 5000)).save(bomb, format="PNG")  # 25 MP of zeros in ~25 kB
    assert len(bomb.getvalue()) < 100_000
    url = f"{server.url}/v1/predict"

    def chunked():  # no Content-Length: the limit is enforced while the body streams in
        for _ in range(40):
            yield b"x" * 65536

    big = b"\0" * (2 * 1024 * 1024)
    yield "not an image", post_image(server, b"hello, this is not an image"), 400
    yield "empty file", post_image(server, b""), 400
    yield "truncated PNG", post_image(server, digit_png[: len(digit_png) // 2]), 400
    yield "corrupt PNG", post_image(server, digit_png[:40] + b"\xff" * 60 + digit_png[100:]), 400
    yield "decompression bomb", post_image(server, bomb.getvalue()), 413
    yield "bomb header 60000x60000", post_image(server, _png_header_only(60000, 60000)), 413
    yield "upload over 1 MB", post_image(server, big), 413
    yield "chunked body over 1 MB", httpx.post(url, content=chunked(),
                                               headers={"Content-Type": "application/json"}), 413
    yield "multipart without 'image'", httpx.post(url, files={"picture": ("a.png", digit_png)}), 422
    yield "text/plain body", httpx.post(url, content=b"7", headers={"Content-Type": "text/plain"}), 415
    yield "malformed JSON", post_json(server, b'{"pixels": [[1, 2'), 400
    yield "JSON list", post_json(server, [1, 2, 3]), 422
    yield "no pixels key", post_json(server, {"image": [[0]]}), 422
    yield "pixels a number", post_json(server, {"pixels": 5}), 422
    yield "ragged rows", post_json(server, {"pixels": [[1, 2], [3]]}), 422
    yield "strings", post_json(server, {"pixels": [["a", "b"]]}), 422
    yield "booleans", post_json(server, {"pixels": [[True, False]]}), 422
    yield "empty", post_json(server, {"pixels": []}), 422
    yield "4-D", post_json(server, {"pixels": [[[[1]]]]}), 422
    yield "C=2", post_json(server, {"pixels": np.zeros((2, 4, 4)).tolist()}), 422
    yield "NaN pixel", post_json(server, b'{"pixels": [[0, NaN], [1, 2]]}'), 422
    yield "Infinity pixel", post_json(server, b'{"pixels": [[0, Infinity], [1, 2]]}'), 422
    yield "pixel 300", post_json(server, {"pixels": [[0, 300], [1, 2]]}), 422
    yield "pixel -1", post_json(server, {"pixels": [[0, -1], [1, 2]]}), 422
    yield "deeply nested", post_json(server, b'{"pixels": ' + b"[" * 100000 + b"]" * 100000 + b"}"), 400
    yield "text for an image model", post_json(server, {"text": "bonjour"}), 422


def test_hostile_requests_get_4xx_json_and_the_server_keeps_serving(live_server, test_digits):
    images, labels = test_digits
    digit = png(images[0])
    assert top1(post_image(live_server, digit)) == labels[0]
    for name, r, status in _hostile(live_server, digit):
        assert r.status_code == status, (name, r.status_code, r.text[:300])
        detail = r.json()["detail"]
        assert isinstance(detail, str) and len(detail) > 10, (name, detail)
        assert top1(post_image(live_server, digit)) == labels[0], f"wrong answer after {name}"
    assert httpx.get(f"{live_server.url}/health").json() == {"status": "ok"}


def test_concurrent_requests_are_batched_and_answered_right(live_server, test_digits):
    from concurrent.futures import ThreadPoolExecutor

    images, labels = test_digits
    batcher = live_server.server.config.app.state.batcher
    before_batches, before_items = batcher.batches, batcher.items
    with httpx.Client(timeout=30) as client, ThreadPoolExecutor(16) as pool:
        bodies = [png(img) for img in images[:64]]
        answers = list(pool.map(lambda b: client.post(f"{live_server.url}/v1/predict",
                                                      files={"image": ("d.png", b)}).json(), bodies))
    single = [post_image(live_server, b).json()["predictions"][0]["class"] for b in bodies[:8]]
    predicted = [a["predictions"][0]["class"] for a in answers]
    assert predicted[:8] == single  # a batched answer is the answer the request gets alone
    assert (np.array(predicted) == labels[:64]).mean() >= 0.9
    batches, items = batcher.batches - before_batches, batcher.items - before_items
    assert items == 64 + 8
    assert batches < items  # some forward passes served several requests


def test_openapi_schema_and_offline_docs(live_server):
    schema = httpx.get(f"{live_server.url}/openapi.json").json()
    assert set(schema["paths"]) >= {"/health", "/v1/model", "/v1/predict", "/v1/activations"}
    body = schema["paths"]["/v1/predict"]["post"]["requestBody"]["content"]
    assert set(body) == {"multipart/form-data", "application/json"}
    assert {p["name"] for p in schema["paths"]["/v1/predict"]["post"]["parameters"]} == {"k"}
    docs = httpx.get(f"{live_server.url}/docs")
    assert docs.status_code == 200 and "/openapi.json" in docs.text
    page = httpx.get(f"{live_server.url}/")
    for text in (docs.text, page.text, httpx.get(f"{live_server.url}/static/app.js").text):
        assert "http://" not in text.replace("http://127.0.0.1", "") and "https://" not in text  # no CDN
