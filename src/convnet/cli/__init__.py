"""convnet.cli (being written)."""
