"""Primitive ops by math family: forward on ndarrays and vjp on Tensors, side by side."""

from chainrule.ops.arithmetic import add, div, mul, neg, pow, square, sub, to_tensor
from chainrule.ops.compare import argmax, argmin, eq, ge, gt, le, lt, ne, sign
from chainrule.ops.elementwise import (
    abs,
    clip,
    cos,
    elu,
    exp,
    expm1,
    leaky_relu,
    log,
    log1p,
    maximum,
    minimum,
    relu,
    sin,
    sqrt,
    tanh,
    where,
)
from chainrule.ops.inplace import add_, clamp_, copy_, div_, fill_, mul_, setitem_, sub_
from chainrule.ops.linalg import cholesky, diagonal, matmul, triangular_solve
from chainrule.ops.reduction import cumsum, max, mean, min, std, sum, var
from chainrule.ops.shape import (
    astype,
    broadcast_to,
    clone,
    concatenate,
    detach,
    flatten,
    getitem,
    pad,
    permute,
    reshape,
    split,
    squeeze,
    stack,
    sum_to,
    swapaxes,
    unsqueeze,
)
from chainrule.ops.special import erf, gelu, log_softmax, logsumexp, sigmoid, softmax, softplus

__all__ = [
    "abs", "add", "add_", "argmax", "argmin", "astype", "broadcast_to", "cholesky", "clamp_",
    "clip", "clone", "concatenate", "copy_", "cos", "cumsum", "detach", "diagonal", "div",
    "div_", "elu", "eq", "erf", "exp", "expm1", "fill_", "flatten", "ge", "gelu", "getitem",
    "gt", "le", "leaky_relu", "log", "log1p", "log_softmax", "logsumexp", "lt", "matmul", "max",
    "maximum", "mean", "min", "minimum", "mul", "mul_", "ne", "neg", "pad", "permute", "pow",
    "relu", "reshape", "setitem_", "sigmoid", "sign", "sin", "softmax", "softplus", "split",
    "sqrt", "square", "squeeze", "stack", "std", "sub", "sub_", "sum", "sum_to", "swapaxes",
    "tanh", "to_tensor", "triangular_solve", "unsqueeze", "var", "where",
]
