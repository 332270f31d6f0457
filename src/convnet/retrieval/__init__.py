"""Content-based image retrieval with CNN features (an application on top of ``nn``).

    from convnet.retrieval import Index
    index = Index.build(model, data.fashion_mnist("train"))      # penultimate features, L2-normalised
    distances, indices = index.search(query_images, k=10)
    index.save("fmnist.index"); index = Index.load("fmnist.index", model=model)

See ``docs/guide/retrieval.md``.
"""
from .index import INDEX_FORMAT, Index, embed, exact_search  # noqa: F401
from .metrics import retrieval_metrics  # noqa: F401

__all__ = ["Index", "embed", "exact_search", "retrieval_metrics", "INDEX_FORMAT"]
