"""PyTorch-style autograd namespace: grad, backward, Function, gradcheck, gradgradcheck."""

from chainrule.core.engine import backward, grad
from chainrule.core.function import Function
from chainrule.core.gradcheck import GradcheckError, gradcheck, gradgradcheck


def Variable(data, requires_grad=False, volatile=False):  # noqa: N802 (torch's name)
    """Deprecated in torch since 0.4 (a Variable is a Tensor): returns data as a Tensor, a
    leaf that requires grad when asked."""
    from chainrule.core.tensor import Tensor

    t = data.detach() if isinstance(data, Tensor) else Tensor(data)
    return t.requires_grad_(True) if requires_grad else t


__all__ = ["Function", "GradcheckError", "Variable", "backward", "grad", "gradcheck",
           "gradgradcheck"]
