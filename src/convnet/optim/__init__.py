"""convnet.optim (being written)."""
