"""cuDNN flags: settable as in torch, with no effect (there is no GPU); results on the CPU are
already deterministic."""

deterministic = False
benchmark = False
enabled = False


def is_available():
    """False."""
    return False
