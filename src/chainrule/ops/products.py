"""Products and matrix helpers under torch's names: prod, cumprod, dist, mm, bmm, mv, dot,
addmm, addmv, baddbmm, addcmul, addcdiv, tril, triu, diag, diag_embed.

prod and cumprod are primitives (their vjp divides the product by x, so an exact zero in x
gives a NaN gradient: a stated limitation); the rest are written from matmul and friends."""

import builtins

import numpy as np

from chainrule.core.backend import xp_of
from chainrule.core.function import Function
from chainrule.ops.arithmetic import const, to_tensor
from chainrule.ops.linalg import diagonal as _diagonal
from chainrule.ops.linalg import matmul
from chainrule.ops.reduction import CumSum, expand_reduced, normalize_axes
from chainrule.ops.registry import op


class Prod(Function):
    """y = prod_i x_i over axes;  dy/dx_i = y / x_i"""

    __slots__ = ("axes", "keepdims")

    def __init__(self, axes, keepdims):
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        return np.prod(x, axis=self.axes, keepdims=self.keepdims)

    def vjp(self, g):
        x = self.inputs[0]
        y = self.output
        return expand_reduced(g * y, x.shape, self.axes, self.keepdims) / x


class CumProd(Function):
    """y_i = prod_{j <= i} x_j along axis;  gx_i = (sum_{k >= i} g_k y_k) / x_i"""

    __slots__ = ("axis",)

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        return np.cumprod(x, axis=self.axis)

    def vjp(self, g):
        x = self.inputs[0]
        flip = (slice(None),) * self.axis + (slice(None, None, -1),)
        return CumSum(self.axis)((g * self.output)[flip])[flip] / x


@op(methods=("prod",), classes=(Prod,))
def prod(input, dim=None, keepdim=False, *, dtype=None):
    """Product over `dim` (every element when None)."""
    x = to_tensor(input)
    if dtype is not None:
        x = x.astype(dtype)
    if isinstance(dim, (tuple, list)):
        raise TypeError("prod: dim must be an int or None (as torch); got a sequence")
    return Prod(normalize_axes("prod", dim, x.ndim), keepdim)(x)


@op(methods=("cumprod",), classes=(CumProd, CumSum))
def cumprod(input, dim, *, dtype=None):
    """Running product along `dim`."""
    x = to_tensor(input)
    if dtype is not None:
        x = x.astype(dtype)
    if x.ndim == 0:
        return x
    return CumProd(normalize_axes("cumprod", dim, x.ndim)[0])(x)


@op(methods=("dist",))
def dist(input, other, p=2):
    """p-norm of input - other (torch.norm, ops/linalg_norms.py)."""
    return (to_tensor(input) - other).norm(p)


def _need(op, x, ndim, what):
    if x.ndim != ndim:
        raise ValueError(f"{op}: {what} must be {ndim}-D; got shape {x.shape}")


@op(methods=("mm",))
def mm(input, mat2):
    """Matrix product of two 2-D tensors (no broadcasting)."""
    a, b = to_tensor(input), to_tensor(mat2)
    _need("mm", a, 2, "input")
    _need("mm", b, 2, "mat2")
    return matmul(a, b)


@op(methods=("bmm",))
def bmm(input, mat2):
    """Batched matrix product of (b, n, m) and (b, m, p) tensors (no broadcasting)."""
    a, b = to_tensor(input), to_tensor(mat2)
    _need("bmm", a, 3, "input")
    _need("bmm", b, 3, "mat2")
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"bmm: batch sizes differ: input is {a.shape}, mat2 is {b.shape}")
    return matmul(a, b)


@op(methods=("mv",))
def mv(input, vec):
    """Matrix-vector product of a 2-D and a 1-D tensor."""
    a, v = to_tensor(input), to_tensor(vec)
    _need("mv", a, 2, "input")
    _need("mv", v, 1, "vec")
    return matmul(a, v)


@op(methods=("dot", "inner"), also=("inner",))
def dot(input, other):
    """Dot product sum_i x_i y_i of two 1-D tensors of equal length."""
    a, b = to_tensor(input), to_tensor(other)
    if a.ndim != 1 or b.ndim != 1 or a.shape != b.shape:
        raise ValueError(f"dot: needs two 1-D tensors of equal length; got {a.shape} and "
                         f"{b.shape}")
    return (a * b).sum()


@op(methods=("addmm",))
def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    """beta input + alpha mat1 @ mat2."""
    return _scaled(input, beta) + _scaled(mm(mat1, mat2), alpha)


@op(methods=("addmv",))
def addmv(input, mat, vec, *, beta=1, alpha=1):
    """beta input + alpha mat @ vec."""
    return _scaled(input, beta) + _scaled(mv(mat, vec), alpha)


@op(methods=("baddbmm",))
def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """beta input + alpha batch1 @ batch2 (batched)."""
    return _scaled(input, beta) + _scaled(bmm(batch1, batch2), alpha)


@op(methods=("addcmul",))
def addcmul(input, tensor1, tensor2, *, value=1):
    """input + value tensor1 tensor2."""
    return to_tensor(input) + _scaled(to_tensor(tensor1) * tensor2, value)


@op(methods=("addcdiv",))
def addcdiv(input, tensor1, tensor2, *, value=1):
    """input + value tensor1 / tensor2."""
    return to_tensor(input) + _scaled(to_tensor(tensor1) / tensor2, value)


def _scaled(x, c):
    x = to_tensor(x)
    return x if c == 1 else x * c


def _band(op, x, keep):
    x = to_tensor(x)
    if x.ndim < 2:
        raise ValueError(f"{op}: input must have at least 2 dims; got shape {x.shape}")
    n, m = x.shape[-2:]
    mask = keep(np.arange(n)[:, None], np.arange(m)[None, :])
    return x * const(mask.astype(x.dtype), x)


@op(methods=("tril",))
def tril(input, diagonal=0):
    """The lower triangle (j <= i + diagonal) of the last two dims; the rest zero."""
    return _band("tril", input, lambda i, j: j - i <= diagonal)


@op(methods=("triu",))
def triu(input, diagonal=0):
    """The upper triangle (j >= i + diagonal) of the last two dims; the rest zero."""
    return _band("triu", input, lambda i, j: j - i >= diagonal)


@op(methods=("diag_embed",))
def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    """Matrices (.., n, n) with the last dim of input on their diagonal (offset 0 only)."""
    x = to_tensor(input)
    if offset != 0 or (dim1, dim2) != (-2, -1):
        raise ValueError("diag_embed: only offset=0, dim1=-2, dim2=-1 are supported")
    n = x.shape[-1]
    return x.unsqueeze(-1) * const(np.eye(n, dtype=x.dtype), x)


@op(methods=("diag",))
def diag(input, diagonal=0):
    """1-D input: the square matrix with it on the `diagonal`-th diagonal; 2-D: that diagonal."""
    x = to_tensor(input)
    if x.ndim == 2:
        return _diagonal(x, diagonal)
    if x.ndim != 1:
        raise ValueError(f"diag: input must be 1-D or 2-D; got shape {x.shape}")
    n = x.shape[0] + builtins.abs(diagonal)
    place = xp_of(x).zeros((x.shape[0], n * n), dtype=x.dtype)
    rows = np.arange(x.shape[0])
    place[rows, (rows + builtins.max(-diagonal, 0)) * n + rows + builtins.max(diagonal, 0)] = 1
    return matmul(x, to_tensor(place)).reshape(n, n)


@op(methods=("count_nonzero",), differentiable=False)
def count_nonzero(input, dim=None):
    """The number of non-zero elements over `dim` (int64)."""
    x = to_tensor(input)
    return (x != 0).astype(np.int64).sum(dim)


@op(returns="tuple")
def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """(var, mean) over `dim`, as torch.var_mean."""
    x = to_tensor(input)
    return (x.var(dim, unbiased, keepdim, correction=correction), x.mean(dim, keepdim))


@op(returns="tuple")
def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """(std, mean) over `dim`, as torch.std_mean."""
    x = to_tensor(input)
    return (x.std(dim, unbiased, keepdim, correction=correction), x.mean(dim, keepdim))
