"""convnet.functional.linear (being written)."""
__all__ = []
