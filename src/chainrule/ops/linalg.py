"""Linear algebra: matmul (1-D, 2-D, batched), cholesky, triangular_solve, diagonal.

The vjps of cholesky and triangular_solve use the same ops, so second derivatives of, e.g., a
Gaussian log-density work.
"""

import numpy as np

from chainrule.core.backend import defer_check, xp_of
from chainrule.core.function import Function
from chainrule.ops.arithmetic import _pair, const
from chainrule.ops.registry import op


class MatMul(Function):
    """Y = A B;  dY/dA: G B^T, dY/dB: A^T G (batch axes are summed back by the engine)"""

    __slots__ = ()

    def forward(self, a, b):
        return a @ b

    def forward_into(self, out, a, b):
        """forward, written into out (of the result's shape and dtype)."""
        return np.matmul(a, b, out=out)

    def vjp(self, g):
        a, b = self.inputs
        if a.ndim == 2 and b.ndim == 2:  # the common case: transposed views, no copies
            ga = gb = None
            # an operand that is a transposed view (x @ W.mT) gets its gradient computed in
            # W's own layout, so the gradient that reaches W is C-contiguous, not strided
            if a.requires_grad:
                ga = (b @ g.mT).mT if _is_transposed(a._data) else g @ b.mT
            if b.requires_grad:
                gb = (g.mT @ a).mT if _is_transposed(b._data) else a.mT @ g
            return ga, gb
        # promote 1-D operands as matmul does: a (k,) -> (1, k), b (k,) -> (k, 1)
        a2 = a.reshape(1, -1) if a.ndim == 1 else a
        b2 = b.reshape(-1, 1) if b.ndim == 1 else b
        g2 = g
        if a.ndim == 1:
            g2 = g2.unsqueeze(-2)
        if b.ndim == 1:
            g2 = g2.unsqueeze(-1)
        ga = gb = None
        if a.requires_grad:
            ga = g2 @ b2.mT
            if a.ndim == 1:
                ga = ga.sum(tuple(range(ga.ndim - 2))).reshape(-1) if ga.ndim > 2 else ga[0]
        if b.requires_grad:
            gb = a2.mT @ g2
            if b.ndim == 1:
                gb = gb.sum(tuple(range(gb.ndim - 2))).reshape(-1) if gb.ndim > 2 else gb[:, 0]
        return ga, gb


def _is_transposed(x):
    return x.flags.f_contiguous and not x.flags.c_contiguous


@op(methods=("matmul", "__matmul__"), reflected=("__rmatmul__",), classes=(MatMul,))
def matmul(input, other):
    """Matrix product input @ other (NumPy semantics for 1-D and batched operands)."""
    a, b = _pair(input, other)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: both operands need at least one dimension; got shapes "
                         f"{a.shape} and {b.shape} (use * for scalars)")
    ka = a.shape[-1]
    kb = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if ka != kb:
        raise ValueError(f"matmul: inner dimensions differ: a is {a.shape}, b is {b.shape}")
    if a.ndim > 2 or b.ndim > 2:  # (matrices and vectors have no batch axes to check)
        try:
            np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        except ValueError:
            raise ValueError(f"matmul: batch dimensions cannot be broadcast: a is {a.shape}, "
                             f"b is {b.shape}") from None
    return MatMul()(a, b)


def _tril_mask(like, n, k=0):
    """The lower-triangular 0/1 mask (from diagonal k) in like's dtype, on its device."""
    return const(np.tril(np.ones((n, n), dtype=like.dtype), k), like)


class TriangularSolve(Function):
    """X = A^-1 B for triangular A;  gB = A^-T G, gA = -tril(gB X^T) (triu when upper)"""

    __slots__ = ("upper",)

    def __init__(self, upper=False):
        self.upper = upper

    def forward(self, A, B):
        if type(A) is not np.ndarray:  # on a device: its namespace's solver
            solve = xp_of(A).linalg.solve
            X = solve(A, B[:, None])[:, 0] if B.ndim == 1 else solve(A, B)
            return X.astype(B.dtype, copy=False)
        try:
            from scipy.linalg import solve_triangular
        except ImportError:  # pragma: no cover - LU is fine for well-conditioned factors
            return np.linalg.solve(A, B)
        return solve_triangular(A, B, lower=not self.upper).astype(B.dtype, copy=False)

    def vjp(self, g):
        A, B = self.inputs
        gB = TriangularSolve(not self.upper)(A.mT, g)
        gA = None
        if A.requires_grad:
            X, gX = self.output, gB
            if B.ndim == 1:  # a vector right-hand side is one column
                X, gX = X.unsqueeze(-1), gX.unsqueeze(-1)
            mask = _tril_mask(g, A.shape[-1])
            gA = -(gX @ X.mT) * (mask.mT if self.upper else mask)
        return gA, (gB if B.requires_grad else None)


class Cholesky(Function):
    """L = chol(A), A = L L^T;  gA = L^-T S L^-1, S = sym(tril(L^T gL)) (Murray, 2016)"""

    __slots__ = ()

    def forward(self, A):
        if type(A) is not np.ndarray:  # a GPU returns NaN where NumPy raises: checked at the
            L = xp_of(A).linalg.cholesky(A)  # next read, without a synchronisation here
            defer_check(xp_of(A).isnan(L).any(), "cholesky: the matrix is not positive-definite")
            return L
        try:
            return np.linalg.cholesky(A)
        except np.linalg.LinAlgError:
            raise ValueError("cholesky: the matrix is not positive-definite") from None

    def vjp(self, g):
        L = self.output
        n = L.shape[-1]
        P = (L.mT @ g) * _tril_mask(g, n)
        S = 0.5 * (P + (P * _tril_mask(g, n, -1)).mT)  # symmetric, diagonal halved
        L_inv = triangular_solve(L, const(np.eye(n, dtype=L.dtype), L))
        return L_inv.mT @ S @ L_inv


@op(classes=(Cholesky,))
def cholesky(A):
    """Lower-triangular L with A = L L^T (A symmetric positive-definite, batched (..., n, n))."""
    return Cholesky()(A)


@op(classes=(TriangularSolve,))
def triangular_solve(A, B, upper=False):
    """X with A X = B for a lower (or upper) triangular A; batch axes broadcast."""
    return TriangularSolve(upper)(A, B)


@op(methods=("diagonal",))
def diagonal(input, offset=0, dim1=0, dim2=1):
    """The diagonal of dims dim1 and dim2 (offset above it when > 0), moved to the last dim
    (torch.diagonal; cr.linalg.diagonal takes the last two dims)."""
    A = input
    nd = A.ndim
    d1, d2 = dim1 % nd, dim2 % nd
    if d1 == d2:
        raise ValueError(f"diagonal: dim1 and dim2 must differ; got {dim1} and {dim2}")
    rest = [i for i in range(nd) if i not in (d1, d2)]
    A = A.permute(*rest, d1, d2)
    n, m = A.shape[-2], A.shape[-1]
    k = max(0, min(n, m - offset) if offset >= 0 else min(n + offset, m))
    rows = np.arange(k) + max(0, -offset)
    return A[..., rows, rows + offset]
