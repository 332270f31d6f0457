"""``VisionDataset``: the base of the torchvision-style image datasets (MNIST, CIFAR)."""
from __future__ import annotations

import os

from .dataset import Dataset

__all__ = ["VisionDataset"]


class VisionDataset(Dataset):
    """Base of the image datasets: ``(img, target)`` samples passed through ``transform``/``target_transform``.

    Subclasses set ``data`` (uint8 images), ``targets`` and ``classes`` and implement ``_image(i)``.
    """

    def __init__(self, root, transform=None, target_transform=None):
        self.root = os.path.expanduser(os.fspath(root)) if root is not None else None
        self.transform = transform
        self.target_transform = target_transform

    def __len__(self):
        return len(self.data)

    def __getitem__(self, index):
        img, target = self._image(int(index)), int(self.targets[index])
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    @property
    def class_to_idx(self):
        return {c: i for i, c in enumerate(self.classes)}

    def __repr__(self):
        lines = [f"Dataset {type(self).__name__}", f"    Number of datapoints: {len(self)}",
                 f"    Root location: {self.root}"]
        if self.transform is not None:
            lines.append(f"    Transforms: {self.transform!r}")
        return "\n".join(lines)
