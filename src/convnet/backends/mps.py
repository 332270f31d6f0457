"""Apple MPS is not available (convnet runs on the CPU with NumPy)."""


def is_available() -> bool:
    return False


def is_built() -> bool:
    return False
