"""cr.linalg, decompositions: eigh, eigvalsh, svd, svdvals, qr (torch.linalg's names, named
tuples and batching), forward by NumPy's LAPACK, vjps in chainrule ops (second order).

Decompositions are unique only up to signs (and, for repeated eigen/singular values, up to a
rotation within the repeated space), so the eigen/singular vectors' gradient is defined only for
functions that do not depend on that choice. Where eigen/singular values repeat, the vectors'
gradient is undefined: an error naming the op is raised when a non-zero gradient actually reaches
those vectors; the values' gradients stay correct and silent. svd(full_matrices=True) and
qr(mode='complete') are differentiable through their reduced part only (a gradient reaching the
extra columns is an error). Complex inputs are out of scope (refused).
"""

import numpy as np

from chainrule.core.backend import xp_of
from chainrule.core.function import Function, Nondifferentiable
from chainrule.core.tensor import from_array
from chainrule.ops import return_types
from chainrule.ops.arithmetic import const
from chainrule.ops.linalg import TriangularSolve
from chainrule.ops.linalg_solve import check_matrix
from chainrule.ops.registry import op


def _mask(n, like, fn, k=0):
    """fn(ones((n, n)), k) (np.triu, np.tril) in like's dtype, on its device (like: a Tensor)."""
    return const(fn(np.ones((n, n), dtype=like.dtype), k), like)


def _where(batch_shape, flat_index):
    if not batch_shape:
        return ""
    return f" (batch index {np.unravel_index(flat_index, batch_shape)})"


class GapMask(Nondifferentiable):
    """M_ij = 1 where i != j and the values l_i, l_j differ, else 0; checks that the numerator
    K_ij is negligible wherever l_i = l_j (else the vectors' gradient is undefined: an error)"""

    __slots__ = ("name", "what")

    def __init__(self, name, what):
        self.name, self.what = name, what

    def forward(self, lam, K):
        n = lam.shape[-1]
        eps = np.finfo(lam.dtype).eps
        scale = np.abs(lam).max(-1, keepdims=True, initial=0.0)[..., None]
        gap = np.abs(lam[..., None, :] - lam[..., :, None])
        same = (gap <= 16 * n * eps * scale) & ~xp_of(lam).eye(n, dtype=bool)
        kscale = np.abs(K).max((-2, -1), keepdims=True, initial=0.0)
        bad = same & (np.abs(K) > 16 * n * eps * kscale) & (kscale > 0)
        if bad.any():
            flat = np.argwhere(bad.reshape(-1, n, n))[0]
            b, i, j = (int(v) for v in flat)
            values = lam.reshape(-1, n)[b]
            raise ValueError(
                f"{self.name}: repeated {self.what} ({values[i]:.6g} and {values[j]:.6g}, "
                f"positions {i} and {j}{_where(lam.shape[:-1], b)}) make the gradient of the "
                f"{'eigenvectors' if 'eigen' in self.what else 'singular vectors'} undefined, and "
                "a non-zero gradient reached them; differentiate the values alone, or a function "
                "that does not depend on the choice of basis of the repeated space")
        return (~same & ~xp_of(lam).eye(n, dtype=bool)).astype(lam.dtype)


class ExtraColumnsCheck(Nondifferentiable):
    """g unchanged after checking that it is zero (the gradient reaching the columns of a
    complete decomposition beyond its reduced part, which is not differentiable)"""

    __slots__ = ("message",)

    def __init__(self, message):
        self.message = message

    def forward(self, g):
        if np.any(g != 0):
            raise ValueError(self.message)
        return g


def _inverse_gaps(lam, K, name, what):
    """K_ij / (l_j - l_i) off the diagonal (0 on it), refusing repeated values K reaches."""
    M = GapMask(name, what)(lam, K)
    E = lam.unsqueeze(-2) - lam.unsqueeze(-1)
    return K * M / (E + (1 - M))


def _zeros_like(t):
    return from_array(xp_of(t).zeros(t.shape, dtype=t.dtype))


class Eigh(Function):
    """A = U diag(l) U^T (symmetric A, its `uplo` triangle read);
    gA = U (diag(gl) + skew(U^T gU)/2 / (l_j - l_i)) U^T"""

    __slots__ = ("uplo",)

    def __init__(self, uplo):
        self.uplo = uplo

    def forward(self, A):
        return tuple(np.linalg.eigh(A, UPLO=self.uplo))

    def vjp(self, gs):
        gl, gU = gs
        lam, U = self.outputs
        if lam is None or U is None:  # an output the caller dropped: computed again
            lam, U = Eigh(self.uplo)(self.inputs[0])
        mid = None
        if gU is not None:
            K = U.mT @ gU
            mid = _inverse_gaps(lam, 0.5 * (K - K.mT), "linalg.eigh", "eigenvalues")
        if gl is not None:
            D = _diag_embed(gl)
            mid = D if mid is None else mid + D
        return U @ mid @ U.mT


class EigvalsH(Function):
    """l = the eigenvalues of a symmetric A (no vectors computed);  gA = U diag(gl) U^T
    (defined even when eigenvalues repeat; U computed in the backward pass)"""

    __slots__ = ("uplo",)

    def __init__(self, uplo):
        self.uplo = uplo

    def forward(self, A):
        return np.linalg.eigvalsh(A, UPLO=self.uplo)

    def vjp(self, g):
        U = Eigh(self.uplo)(self.inputs[0])[1]
        return (U * g.unsqueeze(-2)) @ U.mT


class SvdVals(Function):
    """s = the singular values of A (no vectors computed);  gA = U diag(gs) V^T (defined even
    when they repeat; U, V computed in the backward pass)"""

    __slots__ = ()

    def forward(self, A):
        return np.linalg.svd(A, compute_uv=False)

    def vjp(self, g):
        U, _, Vh = Svd(False)(self.inputs[0])
        return (U * g.unsqueeze(-2)) @ Vh


def _diag_embed(v):
    n = v.shape[-1]
    return v.unsqueeze(-2) * const(np.eye(n, dtype=v.dtype), v)


class Svd(Function):
    """A = U diag(s) V^T;  gA = U [(skew(U^T gU) S + S skew(V^T gV)) / (s_k^2 - s_j^2)
    + diag(gs)] V^T + (I - U U^T) gU S^-1 V^T + U S^-1 gV^T (I - V V^T)  (skew X = X - X^T)"""

    __slots__ = ("full_matrices",)

    def __init__(self, full_matrices):
        self.full_matrices = full_matrices

    def forward(self, A):
        return tuple(np.linalg.svd(A, full_matrices=self.full_matrices))

    def vjp(self, gs):
        gU, gS, gVh = gs
        U, S, Vh = self.outputs
        A = self.inputs[0]
        if U is None or S is None or Vh is None:
            U, S, Vh = Svd(self.full_matrices)(A)
        m, n = A.shape[-2:]
        k = min(m, n)
        if self.full_matrices:  # only the reduced part is differentiable
            msg = ("linalg.svd: the gradient reached the columns of U or rows of Vh beyond the "
                   f"first min(m, n) = {k} (full_matrices=True), which are not unique; only the "
                   "reduced part is differentiable: use full_matrices=False")
            if gU is not None and m > k:
                ExtraColumnsCheck(msg)(gU[..., k:])
                gU = gU[..., :k]
            if gVh is not None and n > k:
                ExtraColumnsCheck(msg)(gVh[..., k:, :])
                gVh = gVh[..., :k, :]
            U, Vh = U[..., :k], Vh[..., :k, :]
        V = Vh.mT
        if gU is None and gVh is None:
            return (U * gS.unsqueeze(-2)) @ Vh
        gV = gVh.mT if gVh is not None else None
        Sr, Sc = S.unsqueeze(-2), S.unsqueeze(-1)  # S as a row (scales columns), as a column
        num = 0
        if gU is not None:
            UgU = U.mT @ gU
            num = (UgU - UgU.mT) * Sr
        if gV is not None:
            VgV = V.mT @ gV
            num = num + Sc * (VgV - VgV.mT)
        mid = _inverse_gaps(S * S, num, "linalg.svd", "singular values")
        if gS is not None:
            mid = mid + _diag_embed(gS)
        gA = U @ mid @ Vh
        if (m > k and gU is not None) or (n > k and gV is not None):
            Sinv = _safe_inverse(S, "linalg.svd")
        if m > k and gU is not None:
            gUS = gU * Sinv.unsqueeze(-2)
            gA = gA + (gUS - U @ (U.mT @ gUS)) @ Vh
        if n > k and gV is not None:
            SgVh = Sinv.unsqueeze(-1) * gV.mT
            gA = gA + U @ (SgVh - (SgVh @ V) @ Vh)
        return gA


class NonzeroCheck(Nondifferentiable):
    """ones like s, after checking that no singular value is zero (1/s is needed)"""

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def forward(self, s):
        eps = np.finfo(s.dtype).eps
        scale = np.abs(s).max(-1, keepdims=True, initial=0.0)
        zero = s <= 16 * s.shape[-1] * eps * scale
        if zero.any():
            raise ValueError(f"{self.name}: a zero singular value of a non-square matrix makes the "
                             "singular vectors' gradient undefined, and a non-zero gradient "
                             "reached them; differentiate the singular values alone")
        return np.ones_like(s)


def _safe_inverse(S, name):
    return NonzeroCheck(name)(S) / S


class Qr(Function):
    """A = Q R (Householder, LAPACK);  for m >= n: gA = [gQ + Q copyltu(M)] R^-T with
    M = R gR^T - gQ^T Q (copyltu: the lower triangle mirrored); for m < n on A = [X | Y]:
    gY = Q gR_2, gX the square case with gQ + Y gR_2^T"""

    __slots__ = ("mode",)

    def __init__(self, mode):
        self.mode = mode

    def forward(self, A):
        if self.mode == "r":
            R = np.linalg.qr(A, mode="r")
            return xp_of(A).zeros((0,), dtype=A.dtype), R
        return tuple(np.linalg.qr(A, mode=self.mode))

    def vjp(self, gs):
        if self.mode == "r":
            raise ValueError("linalg.qr: mode='r' computes no Q, so it is not differentiable; "
                             "use mode='reduced'")
        gQ, gR = gs
        A = self.inputs[0]
        Q, R = self.outputs
        if Q is None or R is None:
            Q, R = Qr(self.mode)(A)
        m, n = A.shape[-2:]
        if self.mode == "complete" and m > n:  # only the reduced part is differentiable
            if gQ is not None:
                ExtraColumnsCheck(
                    f"linalg.qr: the gradient reached the last {m - n} columns of Q "
                    "(mode='complete'), which are not unique; only the reduced part is "
                    "differentiable: use mode='reduced'")(gQ[..., n:])
                gQ = gQ[..., :n]
            Q, R = Q[..., :n], R[..., :n, :]
            gR = gR[..., :n, :] if gR is not None else None  # (the zero rows are constant)
        if m >= n:
            return _qr_square_vjp(Q, R, gQ, gR)
        X_part_gR, gR2 = (gR[..., :m], gR[..., m:]) if gR is not None else (None, None)
        gY = Q @ gR2 if gR2 is not None else _zeros_like(A[..., m:])
        gQ2 = gQ
        if gR2 is not None:
            YgR = A[..., m:] @ gR2.mT
            gQ2 = YgR if gQ is None else gQ + YgR
        from chainrule.ops.shape import concatenate

        gX = _qr_square_vjp(Q, R[..., :m], gQ2, X_part_gR)
        return concatenate([gX, gY], -1)


def _qr_square_vjp(Q, R, gQ, gR):
    """gA of A = Q R with R square (n x n) upper triangular."""
    n = R.shape[-1]
    if gR is not None:
        M = gR @ R.mT
        if gQ is not None:
            M = M - Q.mT @ gQ
    else:
        M = -(Q.mT @ gQ)
    T = M * _mask(n, M, np.triu)
    sym = T + (T * _mask(n, M, np.triu, 1)).mT  # triu mirrored, the diagonal once
    gA = Q @ sym
    if gQ is not None:
        gA = gA + gQ
    # gA R^-T:  (R^-1 gA^T)^T
    return TriangularSolve(True)(R, gA.mT).mT


@op(namespace="linalg", returns="linalg_eigh", classes=(Eigh, GapMask))
def eigh(A, UPLO="L"):
    """(eigenvalues, eigenvectors) of a symmetric A (ascending; its UPLO triangle read), batched;
    d: gA = U (diag(gl) + (U^T gU - gU^T U)/2 / (l_j - l_i)) U^T."""
    A = check_matrix("linalg.eigh", A)
    if UPLO not in ("L", "U"):
        raise ValueError(f"linalg.eigh: UPLO must be 'L' or 'U'; got {UPLO!r}")
    return return_types.linalg_eigh(*Eigh(UPLO)(A))


@op(namespace="linalg", classes=(EigvalsH,))
def eigvalsh(A, UPLO="L"):
    """Eigenvalues of a symmetric A, ascending; d: gA = U diag(gl) U^T (defined even when they
    repeat)."""
    A = check_matrix("linalg.eigvalsh", A)
    if UPLO not in ("L", "U"):
        raise ValueError(f"linalg.eigvalsh: UPLO must be 'L' or 'U'; got {UPLO!r}")
    return EigvalsH(UPLO)(A)


@op(namespace="linalg", returns="linalg_svd", classes=(Svd, ExtraColumnsCheck, NonzeroCheck))
def svd(A, full_matrices=True):
    """(U, S, Vh) with A = U diag(S) Vh, S descending, batched (torch's default full_matrices=True:
    differentiable through the reduced part only); d: see Svd (1/(s_k^2 - s_j^2) terms)."""
    A = check_matrix("linalg.svd", A, square=False)
    return return_types.linalg_svd(*Svd(bool(full_matrices))(A))


@op(namespace="linalg", classes=(SvdVals,))
def svdvals(A):
    """Singular values of A, descending; d: gA = U diag(gs) V^T (defined even when they repeat)."""
    A = check_matrix("linalg.svdvals", A, square=False)
    return SvdVals()(A)


@op(namespace="linalg", returns="linalg_qr", classes=(Qr,))
def qr(A, mode="reduced"):
    """(Q, R) with A = Q R, Q orthonormal columns, R upper triangular; mode 'reduced' (Q m x k),
    'complete' (Q m x m: differentiable through its first k columns only), 'r' (Q empty, not
    differentiable); d: see Qr."""
    A = check_matrix("linalg.qr", A, square=False)
    if mode not in ("reduced", "complete", "r"):
        raise ValueError(f"linalg.qr: mode must be 'reduced', 'complete' or 'r'; got {mode!r}")
    return return_types.linalg_qr(*Qr(mode)(A))
