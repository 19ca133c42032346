"""Apple's Metal backend: not available (chainrule computes on the CPU only)."""


def is_available():
    """False."""
    return False


def is_built():
    """False."""
    return False
