"""Primitive ops by math family: forward on ndarrays and vjp on Tensors, side by side.

Every module of this package is imported here (a new family file needs no edit), each
registers its public ops in the registry (ops/registry.py), and the registry then installs
their Tensor methods and names this package's exports.
"""

import importlib
import pkgutil

from chainrule.ops import registry

for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    importlib.import_module(f"{__name__}.{_info.name}")

registry.install()
globals().update(registry.exports())

from chainrule.core.broadcast import sum_to  # noqa: E402
from chainrule.ops.arithmetic import to_tensor  # noqa: E402
from chainrule.ops.shape import getitem  # noqa: E402

__all__ = sorted(registry.exports()) + ["getitem", "registry", "sum_to", "to_tensor"]
