"""The library's own exception types.

- ``ShapeError``: a tensor operation got shapes, sizes or argument values it cannot work with.
  PyTorch raises ``RuntimeError`` for these and our older code raised ``ValueError``; this class is
  both, so ``except RuntimeError`` written for torch and ``except ValueError`` both catch it.
- ``FileFormatError``: a file (checkpoint, dataset, image) is corrupt, truncated, oversized or of
  the wrong kind. A ``ValueError`` whose message names the file.
"""
from __future__ import annotations

__all__ = ["ShapeError", "FileFormatError"]


class ShapeError(ValueError, RuntimeError):
    """Bad shapes, sizes or arguments of a tensor operation (a ``ValueError`` and a ``RuntimeError``)."""


class FileFormatError(ValueError):
    """A corrupt, truncated, oversized or wrong-kind file; the message names the file."""
