"""convnet.models (being written)."""
