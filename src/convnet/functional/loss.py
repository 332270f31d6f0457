"""convnet.functional.loss (being written)."""
__all__ = []
