"""The ASGI app: the drawing page, the prediction API and the OpenAPI schema (FastAPI).

    GET  /                 the page (draw or upload a digit; every layer's response)
    GET  /health           {"status": "ok"}
    GET  /v1/model         name, kind, classes, input shape, parameter count
    POST /v1/predict       multipart field ``image`` or JSON {"pixels": ...} -> {"predictions": [...]} (top ?k=)
    POST /v1/activations   the same input -> predictions, the prepared input, each conv layer's maps, saliency
    GET  /openapi.json     the schema; GET /docs renders it with a small page served here (no CDN)

A request's body is read with a running byte count and refused (413) as soon as it passes
``max_upload_mb``; decoding runs in worker threads (at most ``DECODERS`` at once) and the model in
one inference thread fed by :class:`~convnet.serve.batching.MicroBatcher`.
"""
from __future__ import annotations

import asyncio
import contextlib
from concurrent.futures import ThreadPoolExecutor
from importlib import resources

import numpy as np
from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from .batching import MicroBatcher
from .inputs import MAX_PIXELS, InputError, decode_image, decode_json, decode_pixels, prepare
from .model import ServedModel

__all__ = ["create_app", "DECODERS"]

DECODERS = 4  # images decoded at once (bounds the memory a burst of large uploads takes)

_BODY = {"required": True, "content": {
    "multipart/form-data": {"schema": {"type": "object", "required": ["image"], "properties": {
        "image": {"type": "string", "format": "binary", "description": "a PNG or JPEG image"}}}},
    "application/json": {"schema": {"type": "object", "properties": {
        "pixels": {"type": "array", "items": {"type": "array"},
                   "description": "H x W or C x H x W numbers 0-255 (0 = black)"},
        "text": {"type": "string", "description": "for text models only"}}}}}}
_ERRORS = {code: {"description": text, "content": {"application/json": {"schema": {
    "type": "object", "properties": {"detail": {"type": "string"}}}}}} for code, text in (
    (400, "not a readable image, or malformed JSON"), (413, "body over --max-upload-mb, or too many pixels"),
    (415, "neither multipart/form-data nor application/json"),
    (422, "wrong JSON shape, NaN or out-of-range pixels, k out of range"))}


def _static(name):
    return resources.files("convnet.serve").joinpath("static", name)


def create_app(checkpoint, max_upload_mb=10.0, batching=True, max_batch=32, max_wait_ms=5.0, max_pixels=MAX_PIXELS):
    """The FastAPI app serving ``checkpoint`` (a checkpoint file or run directory).

    Args:
        max_upload_mb: request bodies over this many megabytes are refused with 413 while being read.
        batching: collect concurrent requests into one forward pass (``max_batch``, ``max_wait_ms``);
            False runs one forward pass per request.
        max_pixels: images whose header declares more pixels are refused (413) before decoding.
    """
    if not max_upload_mb > 0:
        raise ValueError(f"create_app: max_upload_mb must be positive, received {max_upload_mb}")
    served = ServedModel(checkpoint)
    limit = int(max_upload_mb * 1024 * 1024)
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="convnet-infer")
    batcher = MicroBatcher(served.probabilities, executor, max_batch=max_batch if batching else 1,
                           max_wait_ms=max_wait_ms if batching else 0.0)
    decoders = asyncio.Semaphore(DECODERS)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        batcher.start()
        yield
        await batcher.stop()
        executor.shutdown(wait=False)

    app = FastAPI(title=f"convnet serve: {served.name}", version="1",
                  description="Predictions and per-layer activations of a convnet checkpoint.",
                  docs_url=None, redoc_url=None, lifespan=lifespan)
    app.state.served, app.state.batcher = served, batcher
    app.mount("/static", StaticFiles(directory=str(_static(""))), name="static")

    @app.exception_handler(InputError)
    async def _bad_input(request, exc):
        return JSONResponse({"detail": str(exc)}, status_code=exc.status)

    async def read_input(request):
        """The request's image, prepared for the model: ``(x (C, H, W) in [0, 1], has_ink)``."""
        body = await _read_body(request, limit)
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        channels = served.input_shape[0]
        if served.kind == "text":
            raise InputError(f"this server's model ({served.name}) classifies text: POST /v1/predict with JSON "
                             '{"text": "..."}', 422)
        if ctype == "application/json":
            obj = decode_json(body)
            if "text" in obj and "pixels" not in obj:
                raise InputError(f"this server's model ({served.name}) classifies images: send 'pixels' or a "
                                 "multipart 'image', not 'text'", 422)  # text models: the hook is ServedModel.kind
            if "pixels" not in obj:
                raise InputError(f"the JSON body needs a 'pixels' array (H x W or C x H x W, 0-255); received "
                                 f"keys {sorted(obj)}")
            raw = decode_pixels(obj["pixels"], channels)
        elif ctype == "multipart/form-data":
            data, filename = await _multipart_image(request, body)
            async with decoders:
                raw = await run_in_threadpool(decode_image, data, channels, filename, max_pixels)
        else:
            raise InputError(f"send multipart/form-data with an 'image' field or application/json with 'pixels'; "
                             f"received Content-Type {ctype or 'none'!r}", 415)
        return await run_in_threadpool(prepare, raw, served.input_shape, served.meta)

    def check_k(k):
        if k > len(served.classes):
            raise InputError(f"k must be between 1 and the number of classes ({len(served.classes)}), received {k}")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page():
        return HTMLResponse(_static("index.html").read_text(encoding="utf-8"))

    @app.get("/docs", response_class=HTMLResponse, include_in_schema=False)
    async def docs():
        return HTMLResponse(_static("docs.html").read_text(encoding="utf-8"))

    @app.get("/health", summary="liveness")
    async def health():
        return {"status": "ok"}

    @app.get("/v1/model", summary="the served model")
    async def model_info():
        return served.info()

    @app.post("/v1/predict", summary="top-k classes of one image", openapi_extra={"requestBody": _BODY},
              responses=_ERRORS)
    async def predict(request: Request, k: int = Query(3, ge=1, description="how many classes")):
        check_k(k)
        if served.kind == "text":  # JSON {"text": "..."}; one forward pass on the inference thread
            obj = decode_json(await _read_body(request, limit))
            if "text" not in obj:
                raise InputError(f"this server's model ({served.name}) classifies text: the JSON body needs a "
                                 f"'text' string; received keys {sorted(obj)}")
            try:
                top = await asyncio.get_running_loop().run_in_executor(executor, served.predict_text, obj["text"], k)
            except ValueError as e:
                raise InputError(str(e)) from None
            return {"predictions": top}
        x, _ = await read_input(request)
        probs = await batcher.submit(x)
        return {"predictions": served.top_k(probs, k)}

    @app.post("/v1/activations", summary="what the page draws: every conv layer's maps and a saliency map",
              openapi_extra={"requestBody": _BODY}, responses=_ERRORS)
    async def activations(request: Request, k: int = Query(3, ge=1, description="how many classes"),
                          max_maps: int = Query(16, ge=1, le=256, description="maps per layer")):
        check_k(k)
        x, ink = await read_input(request)
        loop = asyncio.get_running_loop()
        probs, layers, saliency = await loop.run_in_executor(executor, served.activations, x, max_maps)
        return {"predictions": served.top_k(probs, k), "has_ink": bool(ink),
                "input": {"shape": list(x.shape), "pixels": _rounded(x)},
                "layers": [dict(layer, maps=_rounded(layer["maps"])) for layer in layers],
                "saliency": _rounded(saliency)}

    return app


def _rounded(a):
    return np.round(np.asarray(a, np.float64), 3).tolist()


async def _read_body(request, limit):
    """The whole body, refused (413) as soon as the declared or the received size passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    mb = limit / (1024 * 1024)
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise InputError(f"the request body has {int(declared):,} bytes, more than the {mb:g} MB limit "
                         "(--max-upload-mb)", 413)
    chunks, n = [], 0
    async for chunk in request.stream():
        n += len(chunk)
        if n > limit:
            raise InputError(f"the request body passed the {mb:g} MB limit (--max-upload-mb)", 413)
        chunks.append(chunk)
    return b"".join(chunks)


async def _multipart_image(request, body):
    """``(bytes, filename)`` of the multipart field ``image`` in the already-read ``body``."""
    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(request.scope, receive).form(max_files=2, max_fields=10)
    except Exception as e:  # noqa: BLE001 - malformed multipart (starlette raises its own types)
        raise InputError(f"the multipart body cannot be parsed ({getattr(e, 'detail', e)})", 400) from None
    upload = form.get("image")
    if not isinstance(upload, UploadFile):
        raise InputError(f"the multipart body needs a file field named 'image'; received fields {sorted(form)}")
    data = await upload.read()
    await form.close()
    return data, upload.filename
