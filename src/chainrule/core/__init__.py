"""The autodiff kernel: Tensor, Function, the backward engine (with unbroadcasting), grad modes,
the interceptor extension point, transforms and gradcheck. It imports nothing above itself."""

from chainrule.core import engine, mode
from chainrule.core.function import Function, Nondifferentiable
from chainrule.core.tensor import Size, Tensor

__all__ = ["Function", "Nondifferentiable", "Size", "Tensor", "engine", "mode"]
