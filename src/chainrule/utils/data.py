"""torch.utils.data under its torch name: the same objects as chainrule.data (datasets,
DataLoader, samplers, random_split, ...)."""

from chainrule.data import *  # noqa: F403
from chainrule.data import __all__  # noqa: F401
