"""``convnet.utils.data``: the names of ``torch.utils.data``, so ``torch.utils.data.DataLoader(...)`` runs
after ``import convnet as torch``. The implementations live in ``convnet.data``.
"""
from ..data.collate import default_collate  # noqa: F401
from ..data.dataset import ConcatDataset, Dataset, IterableDataset, Subset, TensorDataset, random_split  # noqa: F401
from ..data.loader import DataLoader  # noqa: F401
from ..data.workers import get_worker_info  # noqa: F401

__all__ = ["DataLoader", "Dataset", "IterableDataset", "TensorDataset", "Subset", "ConcatDataset", "random_split",
           "default_collate", "get_worker_info"]
