"""The autodiff core: Tensor, Function, the backward engine, grad modes and transforms."""

from chainrule.core.tensor import Tensor  # first: breaks the tensor -> ops -> function cycle

from chainrule.core import engine, mode  # noqa: E402, I001
from chainrule.core.function import Function  # noqa: E402

__all__ = ["Tensor", "Function", "engine", "mode"]
