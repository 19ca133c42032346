"""chainrule: the mathematics of neural networks from first principles, fast enough to use.

    >>> import chainrule as cr
    >>> x = cr.tensor(2.0, requires_grad=True)
    >>> y = x * x * x
    >>> y.backward()
    >>> x.grad.item()
    12.0
"""

from chainrule import autograd
from chainrule.core import Function, Tensor
from chainrule.core.compile import CompileError, compile, effect
from chainrule.core.creation import (
    arange,
    eye,
    full,
    linspace,
    ones,
    ones_like,
    rand,
    randn,
    tensor,
    zeros,
    zeros_like,
)
from chainrule.core.gradcheck import gradcheck, gradgradcheck
from chainrule.core.mode import (
    enable_grad,
    get_default_dtype,
    is_grad_enabled,
    manual_seed,
    no_grad,
    set_default_dtype,
    set_grad_enabled,
)
from chainrule.core.transforms import grad, hessian, hvp, jacobian, jvp, value_and_grad, vjp
from chainrule.ops import (
    abs,
    argmax,
    argmin,
    cholesky,
    clip,
    concatenate,
    cos,
    cumsum,
    diagonal,
    elu,
    erf,
    exp,
    expm1,
    flatten,
    gelu,
    leaky_relu,
    log,
    log1p,
    log_softmax,
    logsumexp,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    pad,
    permute,
    relu,
    reshape,
    sigmoid,
    sign,
    sin,
    softmax,
    softplus,
    split,
    sqrt,
    squeeze,
    stack,
    std,
    sum,
    tanh,
    triangular_solve,
    unsqueeze,
    var,
    where,
)

cat = concatenate
clamp = clip

__version__ = "0.1.0"

# Higher layers load on first use, so `import chainrule` pulls in NumPy only.
_SUBPACKAGES = ("nn", "optim", "optimize", "linear", "decomposition", "distributions", "info",
                "inspect", "train", "data", "report", "distributed")


def __getattr__(name):
    if name in _SUBPACKAGES:
        import importlib

        return importlib.import_module(f"chainrule.{name}")
    if name in ("save", "load"):  # checkpoints: safetensors + JSON metadata (chainrule.train)
        from chainrule.train import checkpoint

        return getattr(checkpoint, name)
    raise AttributeError(f"module 'chainrule' has no attribute {name!r}")

__all__ = [
    "CompileError", "Function", "Tensor", "abs", "arange", "argmax", "argmin", "autograd", "cat",
    "cholesky", "clamp", "clip", "compile", "concatenate", "cos", "cumsum", "diagonal", "effect",
    "elu", "enable_grad", "erf", "exp", "expm1", "eye", "flatten", "full", "gelu",
    "get_default_dtype", "grad", "gradcheck", "gradgradcheck", "hessian", "hvp", "is_grad_enabled",
    "jacobian", "jvp", "leaky_relu", "linspace", "log", "log1p", "log_softmax", "logsumexp",
    "manual_seed", "matmul", "max", "maximum", "mean", "min", "minimum", "no_grad", "ones",
    "ones_like", "pad", "permute", "rand", "randn", "relu", "reshape", "set_default_dtype",
    "set_grad_enabled", "sigmoid", "sign", "sin", "softmax", "softplus", "split", "sqrt",
    "squeeze", "stack", "std", "sum", "tanh", "tensor", "triangular_solve", "unsqueeze",
    "value_and_grad", "var", "vjp", "where", "zeros", "zeros_like",
]
