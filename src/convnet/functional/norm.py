"""convnet.functional.norm (being written)."""
__all__ = []
