"""PyTorch-style autograd namespace: grad, backward, Function, gradcheck, gradgradcheck."""

from chainrule.core.engine import backward, grad
from chainrule.core.function import Function
from chainrule.core.gradcheck import GradcheckError, gradcheck, gradgradcheck

__all__ = ["Function", "GradcheckError", "backward", "grad", "gradcheck", "gradgradcheck"]
