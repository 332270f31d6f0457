"""convnet.data (being written)."""
