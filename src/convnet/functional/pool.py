"""convnet.functional.pool (being written)."""
__all__ = []
