"""cr.linalg, norms and scalars of matrices: vector_norm, matrix_norm, norm, cond, matrix_rank,
diagonal, trace (and cr.trace, torch's 2-D one). Composites of differentiable ops, except the
p-norm (a primitive, so its gradient at 0 is 0 as torch's, not 0/0) and matrix_rank (an integer:
not differentiable, as in torch)."""

import numpy as np

from chainrule.core.backend import asarray as _asarray
from chainrule.core.backend import xp_of
from chainrule.core.function import Function, Nondifferentiable
from chainrule.core.tensor import from_array
from chainrule.ops.arithmetic import to_tensor
from chainrule.ops.compare import sign
from chainrule.ops.elementwise import abs, where
from chainrule.ops.linalg import diagonal as _diagonal
from chainrule.ops.linalg_decomp import svdvals
from chainrule.ops.linalg_solve import Inv, check_matrix
from chainrule.ops.reduction import amax, amin, expand_reduced, normalize_axes
from chainrule.ops.registry import op


class VectorNorm(Function):
    """y = (sum_i |x_i|^p)^(1/p);  dy/dx_i = sign(x_i) |x_i|^(p-1) / y^(p-1)  (0 where y = 0)"""

    __slots__ = ("ord", "axes", "keepdims")

    def __init__(self, ord, axes, keepdims):
        self.ord, self.axes, self.keepdims = ord, axes, keepdims

    def forward(self, x):
        p = self.ord
        if p == 2:
            y = np.sqrt(np.sum(x * x, axis=self.axes, keepdims=self.keepdims))
        elif p == 1:
            y = np.sum(np.abs(x), axis=self.axes, keepdims=self.keepdims)
        else:
            y = np.sum(np.abs(x) ** p, axis=self.axes, keepdims=self.keepdims) ** (1 / p)
        return _asarray(y, x.dtype, x)

    def vjp(self, g):
        x, y = self.inputs[0], self.output
        p = self.ord
        g = expand_reduced(g, x.shape, self.axes, self.keepdims)
        if p == 1:
            return g * sign(x)
        y = expand_reduced(y, x.shape, self.axes, self.keepdims)
        safe = where(y == 0, from_array(xp_of(y).ones((), dtype=y.dtype)), y)  # x = 0 there too
        if p == 2:
            return g * x / safe
        return g * sign(x) * abs(x) ** (p - 1) / safe ** (p - 1)


class CountNonzero(Nondifferentiable):
    """||x||_0 = the number of non-zero x_i (piecewise constant: no gradient)"""

    __slots__ = ("axes", "keepdims")

    def __init__(self, axes, keepdims):
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        return _asarray(np.count_nonzero(x, axis=self.axes, keepdims=self.keepdims), x.dtype,
                        x)


class MatrixRank(Nondifferentiable):
    """rank A = the number of singular values > max(atol, rtol s_max) (an integer)"""

    __slots__ = ("atol", "rtol", "hermitian")

    def __init__(self, atol, rtol, hermitian):
        self.atol, self.rtol, self.hermitian = atol, rtol, hermitian

    def forward(self, A):
        m, n = A.shape[-2:]
        rtol = self.rtol
        if rtol is None:  # torch's default: eps * max(m, n), or 0 when only atol is given
            rtol = np.finfo(A.dtype).eps * max(m, n) if self.atol is None else 0.0
        if self.hermitian:
            s = np.abs(np.linalg.eigvalsh(A))
        else:
            s = np.linalg.svd(A, compute_uv=False)
        smax = s.max(-1, keepdims=True, initial=0.0)
        tol = np.maximum(self.atol or 0.0, rtol * smax)
        return np.sum(s > tol, axis=-1).astype(np.int64)


def _float(name, x):
    x = to_tensor(x)
    if x.dtype.kind == "c":
        raise TypeError(f"{name}: complex inputs are not supported; got dtype {x.dtype}")
    if x.dtype.kind != "f":
        raise TypeError(f"{name}: expected a floating-point tensor; got dtype {x.dtype}")
    return x


@op(namespace="linalg", classes=(VectorNorm, CountNonzero))
def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    """||x||_ord = (sum |x_i|^ord)^(1/ord) over dim (all dims when None); ord inf: max |x_i|,
    -inf: min |x_i|, 0: the number of non-zeros (no gradient);
    d: sign(x) |x|^(ord-1) / y^(ord-1)."""
    x = _float("linalg.vector_norm", x)
    if dtype is not None:
        x = x.astype(dtype)
    if isinstance(ord, str) or not np.isscalar(ord):
        raise ValueError(f"linalg.vector_norm: ord must be a number (or inf); got {ord!r}")
    axes = normalize_axes("linalg.vector_norm", dim, x.ndim)
    if ord == np.inf:
        return amax(abs(x), axes, keepdim)
    if ord == -np.inf:
        return amin(abs(x), axes, keepdim)
    if ord == 0:
        return CountNonzero(axes, keepdim)(x)
    return VectorNorm(float(ord), axes, keepdim)(x)


_MATRIX_ORDS = ("fro", "nuc", 2, -2, 1, -1, np.inf, -np.inf)


def _matrix_dims(name, A, dim):
    if not isinstance(dim, (tuple, list)) or len(dim) != 2:
        raise ValueError(f"{name}: dim must be a pair of dims; got {dim!r}")
    d0, d1 = normalize_axes(name, dim[0], A.ndim)[0], normalize_axes(name, dim[1], A.ndim)[0]
    if d0 == d1:
        raise ValueError(f"{name}: dim must name two different dims; got {dim!r}")
    return d0, d1


@op(namespace="linalg")
def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    """Matrix norm over the two dims `dim`: 'fro' sqrt(sum a_ij^2), 'nuc' sum s_i, 2 / -2 the
    largest / smallest singular value, 1 / -1 max / min column sum of |a_ij|, inf / -inf max /
    min row sum; differentiable (the singular values' gradient U diag(g) V^T)."""
    name = "linalg.matrix_norm"
    A = _float(name, A)
    if dtype is not None:
        A = A.astype(dtype)
    if ord not in _MATRIX_ORDS:
        raise ValueError(f"{name}: ord must be one of 'fro', 'nuc', 2, -2, 1, -1, inf, -inf; "
                         f"got {ord!r}")
    if A.ndim < 2:
        raise ValueError(f"{name}: expected a tensor of at least 2 dims; got shape {A.shape}")
    d0, d1 = _matrix_dims(name, A, dim)
    if ord == "fro":
        return VectorNorm(2.0, tuple(sorted((d0, d1))), keepdim)(A)
    rest = [i for i in range(A.ndim) if i not in (d0, d1)]
    M = A.permute(*rest, d0, d1)
    if ord in ("nuc", 2, -2):
        s = svdvals(M)
        y = s.sum(-1) if ord == "nuc" else (s[..., 0] if ord == 2 else s[..., -1])
    elif ord in (1, -1):
        sums = abs(M).sum(-2)
        y = amax(sums, -1) if ord == 1 else amin(sums, -1)
    else:
        sums = abs(M).sum(-1)
        y = amax(sums, -1) if ord == np.inf else amin(sums, -1)
    if keepdim:
        for d in sorted((d0, d1)):
            y = y.unsqueeze(d)
    return y


@op(namespace="linalg")
def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    """torch.linalg.norm: a vector norm when dim is an int (or A is 1-D), a matrix norm when dim
    is a pair (or A is 2-D and ord is given); with ord and dim None, the 2-norm of A flattened."""
    name = "linalg.norm"
    A = _float(name, A)
    if isinstance(dim, (int, np.integer)):
        dim = (int(dim),)
    if dim is not None:
        dim = tuple(dim)
        if len(dim) == 1:
            if isinstance(ord, str):
                raise ValueError(f"{name}: ord {ord!r} is a matrix norm; dim {dim} names one dim")
            return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)
        if len(dim) == 2:
            return matrix_norm(A, "fro" if ord is None else ord, dim, keepdim, dtype=dtype)
        raise ValueError(f"{name}: dim must be an int or a pair; got {dim}")
    if ord is None:
        return vector_norm(A, 2, None, keepdim, dtype=dtype)
    if A.ndim == 1:
        return vector_norm(A, ord, None, keepdim, dtype=dtype)
    if A.ndim == 2:
        return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype)
    raise ValueError(f"{name}: with ord={ord!r} and dim=None the input must be 1-D or 2-D; got "
                     f"shape {A.shape} (pass dim)")


@op(namespace="linalg")
def cond(A, p=None):
    """Condition number kappa_p(A) = ||A||_p ||A^-1||_p; for p = None / 2: s_max / s_min (-2:
    s_min / s_max, inf for a singular A); other p need a square invertible A."""
    name = "linalg.cond"
    A = _float(name, A)
    if A.ndim < 2:
        raise ValueError(f"{name}: expected a matrix or a batch of matrices; got shape {A.shape}")
    if p is None or p in (2, -2):
        s = svdvals(A)
        with np.errstate(divide="ignore", invalid="ignore"):  # inf (or nan for 0), as torch
            return s[..., 0] / s[..., -1] if p != -2 else s[..., -1] / s[..., 0]
    A = check_matrix(name, A)
    return matrix_norm(A, p) * matrix_norm(Inv(f"{name} (p={p!r})")(A), p)


@op(namespace="linalg", differentiable=False, classes=(MatrixRank,))
def matrix_rank(A, *, atol=None, rtol=None, hermitian=False):
    """Number of singular values > max(atol, rtol s_max) (rtol = eps max(m, n) by default); an
    integer: not differentiable (torch neither)."""
    A = check_matrix("linalg.matrix_rank", A, square=hermitian)
    return MatrixRank(atol, rtol, hermitian)(A)


@op("diagonal", namespace="linalg")
def linalg_diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    """The diagonal of the last two dims (torch.linalg.diagonal), batched."""
    return _diagonal(to_tensor(A), offset, dim1, dim2)


@op("trace", namespace="linalg")
def linalg_trace(A):
    """tr A = sum_i a_ii over the last two dims, batched (chainrule's; torch.linalg has none);
    d: gA = g I."""
    A = _float("linalg.trace", A)
    if A.ndim < 2:
        raise ValueError(f"linalg.trace: expected a matrix or a batch of matrices; got shape "
                         f"{A.shape}")
    return _diagonal(A, 0, -2, -1).sum(-1)


@op(methods=("trace",))
def trace(input):
    """tr A = sum_i a_ii of a 2-D tensor (torch.trace); d: gA = g I."""
    A = to_tensor(input)
    if A.ndim != 2:
        raise ValueError(f"trace: expected a 2-D tensor; got shape {A.shape} (use "
                         "cr.linalg.trace for batches)")
    return _diagonal(A, 0, 0, 1).sum()


@op("norm", methods=("norm",))
def _norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """torch.norm / Tensor.norm: ||x||_p over dim (all dims when None); 'fro' is the 2-norm of the
    entries, 'nuc' the nuclear norm of the last two dims (or dim)."""
    x = _float("norm", input)
    if p == "nuc":
        return matrix_norm(x, "nuc", (-2, -1) if dim is None else dim, keepdim, dtype=dtype)
    if isinstance(p, str) and p != "fro":
        raise ValueError(f"norm: p must be a number, 'fro' or 'nuc'; got {p!r}")
    return vector_norm(x, 2 if p == "fro" else p, dim, keepdim, dtype=dtype)


@op(namespace="linalg")
def vecdot(x, y, *, dim=-1):
    """sum_i x_i y_i along dim, broadcasting the other dims (torch.linalg.vecdot)."""
    x, y = _float("linalg.vecdot", x), _float("linalg.vecdot", y)
    try:
        np.broadcast_shapes(x.shape, y.shape)
    except ValueError:
        raise ValueError(f"linalg.vecdot: shapes {x.shape} and {y.shape} cannot be broadcast "
                         "together") from None
    return (x * y).sum(dim)


@op(namespace="linalg")
def multi_dot(tensors):
    """A_1 A_2 ... A_k in the cheapest order of multiplication (torch.linalg.multi_dot: the
    first may be a vector (1, n), the last a vector (n, 1))."""
    from chainrule.ops.linalg import matmul

    ts = [_float("linalg.multi_dot", t) for t in tensors]
    if len(ts) < 2:
        raise ValueError(f"linalg.multi_dot: expected at least 2 tensors; got {len(ts)}")
    if any(t.ndim not in (1, 2) for t in ts) or any(t.ndim != 2 for t in ts[1:-1]):
        raise ValueError("linalg.multi_dot: the first and last tensors must be 1-D or 2-D and "
                         f"the others 2-D; got shapes {[t.shape for t in ts]}")
    dims = [ts[0].shape[0] if ts[0].ndim == 2 else 1] + [
        t.shape[-1] if t.ndim == 2 else 1 for t in ts]
    # the classic dynamic programme over the chain's split points
    k = len(ts)
    cost = [[0] * k for _ in range(k)]
    split = [[0] * k for _ in range(k)]
    for length in range(1, k):
        for i in range(k - length):
            j = i + length
            cost[i][j], split[i][j] = min(
                (cost[i][s] + cost[s + 1][j] + dims[i] * dims[s + 1] * dims[j + 1], s)
                for s in range(i, j))

    def product(i, j):
        if i == j:
            return ts[i]
        s = split[i][j]
        return matmul(product(i, s), product(s + 1, j))

    return product(0, k - 1)
