"""``convnet serve``: a web page to draw a digit and watch every layer respond, and an HTTP prediction API.

    from convnet.serve import create_app, run
    app = create_app("runs/lenet5-mnist")          # a FastAPI app (ASGI)
    run("runs/lenet5-mnist", port=8000)             # uvicorn on http://127.0.0.1:8000/

Needs the optional extra ``convnet[serve]`` (FastAPI, uvicorn, python-multipart); ``import convnet``
never imports this package. The pieces: ``inputs`` (request bodies -> images, refusing hostile input),
``model`` (probabilities, per-layer maps, saliency), ``batching`` (concurrent requests -> one forward
pass), ``app`` (the routes), ``static/`` (the page: plain HTML/JS/CSS, no build step, no CDN).
"""
from __future__ import annotations

__all__ = ["create_app", "run", "make_server"]


def create_app(checkpoint, **kwargs):
    """The FastAPI app serving ``checkpoint``; see :func:`convnet.serve.app.create_app` for the options."""
    from .app import create_app as _create

    return _create(checkpoint, **kwargs)


def make_server(checkpoint, host="127.0.0.1", port=8000, log_level="warning", **kwargs):
    """A ``uvicorn.Server`` for ``checkpoint`` (not started: call ``.run()``, or ``.run(sockets=[s])``)."""
    import uvicorn

    config = uvicorn.Config(create_app(checkpoint, **kwargs), host=host, port=int(port), log_level=log_level,
                            access_log=False, lifespan="on")
    return uvicorn.Server(config)


def run(checkpoint, host="127.0.0.1", port=8000, log_level="info", **kwargs):
    """Serve ``checkpoint`` on ``http://host:port/`` until interrupted."""
    make_server(checkpoint, host, port, log_level, **kwargs).run()
