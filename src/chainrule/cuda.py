"""torch.cuda's questions, answered for a CPU-only library: no GPU is ever available, so
`device = 'cuda' if cr.cuda.is_available() else 'cpu'` picks the CPU (see docs/TORCH.md)."""


def is_available():
    """False: chainrule computes on the CPU only."""
    return False


def device_count():
    """0: no GPU."""
    return 0


def manual_seed(seed):
    """Nothing to seed (no GPU generator); accepted so seeding code runs unchanged."""


def manual_seed_all(seed):
    """Nothing to seed (no GPU generator); accepted so seeding code runs unchanged."""


def synchronize(device=None):
    """Nothing to wait for."""
