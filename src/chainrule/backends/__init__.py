"""torch.backends' availability flags for a CPU-only library (mps.is_available() is False)."""

from chainrule.backends import cudnn, mps

__all__ = ["cudnn", "mps"]
