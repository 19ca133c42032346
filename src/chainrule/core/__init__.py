"""The autodiff core: Tensor, Function, the backward engine, grad modes and transforms."""

from chainrule.core import memory

memory.tune_malloc()  # before the first large array: see core/memory.py

from chainrule.core import engine, mode  # noqa: E402, I001
from chainrule.core.function import Function  # noqa: E402
from chainrule.core.tensor import Tensor  # noqa: E402  (breaks the tensor -> ops cycle)

__all__ = ["Tensor", "Function", "engine", "mode"]
