"""cuDNN switches scripts set (``backends.cudnn.benchmark = True``); they have no effect here."""

benchmark = False
deterministic = False
enabled = True


def is_available() -> bool:
    return False
