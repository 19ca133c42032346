"""torch.utils' layout: cr.utils.data is chainrule.data (datasets, loaders, samplers)."""

from chainrule.utils import data

__all__ = ["data"]
