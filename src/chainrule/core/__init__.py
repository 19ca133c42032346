"""The autodiff core: Tensor, Function, the backward engine, grad modes and transforms."""

from chainrule.core import engine, mode  # noqa: E402, I001
from chainrule.core.function import Function  # noqa: E402
from chainrule.core.tensor import Tensor  # first: breaks the tensor -> ops -> function cycle

__all__ = ["Tensor", "Function", "engine", "mode"]
