"""cr.linalg, inverses and determinants: solve, inv, det, slogdet, logdet, pinv, lstsq,
matrix_power, matrix_exp, cholesky (torch.linalg's names, arguments and batching).

Forward is NumPy's LAPACK (batched over leading dims); every vjp is written in chainrule ops, so
second derivatives work (the Hessian of log det, Newton steps through a solve). Real dtypes only:
complex inputs are refused (out of scope). A singular matrix is an error naming the op and the
batch index, not NumPy's bare LinAlgError.
"""

import numpy as np

from chainrule.core.backend import to_host, to_like, xp_of
from chainrule.core.function import Function, Nondifferentiable
from chainrule.core.tensor import from_array
from chainrule.ops import return_types
from chainrule.ops.arithmetic import const, to_tensor
from chainrule.ops.elementwise import where
from chainrule.ops.linalg import Cholesky, TriangularSolve, matmul
from chainrule.ops.registry import op


def check_matrix(name, A, square=True):
    """A as a Tensor of a real float dtype with shape (*, m, n) (m == n when square)."""
    A = to_tensor(A)
    if A.dtype.kind == "c":
        raise TypeError(f"{name}: complex inputs are not supported (chainrule's linalg is real); "
                        f"got dtype {A.dtype}")
    if A.dtype.kind != "f":
        raise TypeError(f"{name}: expected a floating-point matrix; got dtype {A.dtype} "
                        "(convert it with .double() or .float())")
    if A.ndim < 2:
        raise ValueError(f"{name}: expected a matrix or a batch of matrices of shape (*, m, n); "
                         f"got shape {A.shape}")
    if square and A.shape[-1] != A.shape[-2]:
        raise ValueError(f"{name}: expected square matrices; got shape {A.shape}")
    return A


def singular_error(name, A, what="the matrix is singular"):
    """ValueError naming the op and the first batch index whose matrix is singular."""
    where = ""
    if A.ndim > 2:
        for idx in np.ndindex(A.shape[:-2]):
            if not np.all(np.isfinite(A[idx])) or np.linalg.matrix_rank(A[idx]) < A.shape[-1]:
                where = f" (batch index {idx})"
                break
    return ValueError(f"{name}: {what}{where}; got A of shape {A.shape}; a singular matrix has "
                      "no inverse (use cr.linalg.lstsq or cr.linalg.pinv)")


def _eye(n, dtype, like=None):
    """The identity as a Tensor (on like's device when like, a Tensor, is given)."""
    return from_array(np.eye(n, dtype=dtype) if like is None else
                      xp_of(like).eye(n, dtype=dtype))


class Solve(Function):
    """X = A^-1 B (B of shape (*, n, k));  gB = A^-T G, gA = -gB X^T"""

    __slots__ = ("name",)

    def __init__(self, name="linalg.solve"):
        self.name = name

    def forward(self, A, B):
        try:
            return np.linalg.solve(A, B)
        except np.linalg.LinAlgError:
            raise singular_error(self.name, A) from None

    def vjp(self, g):
        A, B = self.inputs
        gB = Solve(f"{self.name} (its gradient)")(A.mT, g)
        gA = -(gB @ self.output.mT) if A.requires_grad else None
        return gA, (gB if B.requires_grad else None)


class Inv(Function):
    """Y = A^-1;  gA = -Y^T G Y^T"""

    __slots__ = ("name",)

    def __init__(self, name="inv"):
        self.name = name

    def forward(self, A):
        try:
            return np.linalg.inv(A)
        except np.linalg.LinAlgError:
            raise singular_error(self.name, A) from None

    def vjp(self, g):
        Y = self.output
        return -(Y.mT @ g @ Y.mT)


class Det(Function):
    """d = det A;  gA = g d A^-T  (Jacobi's formula: d det = det tr(A^-1 dA))"""

    __slots__ = ()

    def forward(self, A):
        return np.linalg.det(A)

    def vjp(self, g):
        A = self.inputs[0]
        # (the gradient at a singular matrix is its adjugate, not computed here: an error)
        A_inv = Inv("det (its gradient at a singular matrix)")(A)
        return (g * self.output).unsqueeze(-1).unsqueeze(-1) * A_inv.mT


class LogAbsDet(Function):
    """l = log |det A|;  gA = g A^-T"""

    __slots__ = ()

    def forward(self, A):
        return np.linalg.slogdet(A)[1]

    def vjp(self, g):
        A = self.inputs[0]
        return g.unsqueeze(-1).unsqueeze(-1) * Inv("slogdet (its gradient)")(A).mT


class DetSign(Nondifferentiable):
    """s = sign(det A) in {-1, 0, 1} (piecewise constant: no gradient)"""

    __slots__ = ()

    def forward(self, A):
        return np.linalg.slogdet(A)[0]


class Pinv(Function):
    """P = A^+ (SVD, singular values <= max(atol, rtol s_max) dropped);
    gA = -P^T G P^T + (I - A P) G^T P P^T + P^T P G^T (I - P A)  (constant rank; Golub-Pereyra)"""

    __slots__ = ("atol", "rtol", "hermitian")

    def __init__(self, atol, rtol, hermitian):
        self.atol, self.rtol, self.hermitian = atol, rtol, hermitian

    def forward(self, A):
        m, n = A.shape[-2:]
        rtol = self.rtol
        if rtol is None:  # torch's default: eps * max(m, n), or 0 when only atol is given
            rtol = np.finfo(A.dtype).eps * max(m, n) if self.atol is None else 0.0
        if self.hermitian:
            w, V = np.linalg.eigh(A)
            s, U, Vh = np.abs(w), V * np.sign(w)[..., None, :], np.swapaxes(V, -1, -2)
        else:
            U, s, Vh = np.linalg.svd(A, full_matrices=False)
        smax = s.max(-1, keepdims=True, initial=0.0)
        tol = np.maximum(self.atol or 0.0, rtol * smax)
        s_inv = np.where(s > tol, 1 / np.where(s > tol, s, 1), 0).astype(A.dtype)
        return (np.swapaxes(Vh, -1, -2) * s_inv[..., None, :]) @ np.swapaxes(U, -1, -2)

    def vjp(self, g):
        A, P = self.inputs[0], self.output
        m, n = A.shape[-2:]
        gT = g.mT
        return (-(P.mT @ g @ P.mT) + (_eye(m, A.dtype, A) - A @ P) @ gT @ (P @ P.mT)
                + (P.mT @ P) @ gT @ (_eye(n, A.dtype, A) - P @ A))


class MatrixExp(Function):
    """Y = exp(A) (scaling and squaring, SciPy's expm);  gA = the Frechet derivative of exp at
    A^T in the direction G: the top-right block of exp([[A^T, G], [0, A^T]])"""

    __slots__ = ()

    def forward(self, A):
        from scipy.linalg import expm

        if type(A) is not np.ndarray:  # SciPy's expm: on the host, the result copied back
            return to_like(expm(to_host(A)).astype(A.dtype, copy=False), A)
        return expm(A).astype(A.dtype, copy=False)

    def vjp(self, g):
        A = self.inputs[0]
        n = A.shape[-1]
        At = A.mT
        zeros = from_array(xp_of(At).zeros(At.shape, dtype=At.dtype))
        from chainrule.ops.shape import concatenate

        block = concatenate([concatenate([At, g], -1), concatenate([zeros, At], -1)], -2)
        return MatrixExp()(block)[..., :n, n:]


def _same_dtype(name, A, B):
    if A.dtype != B.dtype:
        raise TypeError(f"{name}: A and B must have the same dtype; got {A.dtype} and {B.dtype}")


@op(namespace="linalg", classes=(Solve,))
def solve(A, B, *, left=True):
    """X with A X = B (X A = B when left=False), batched; B of shape (*, n) is a batch of
    vectors when its shape is A's without the last dim (torch's rule).
    d: gB = A^-T G, gA = -gB X^T."""
    A = check_matrix("linalg.solve", A)
    B = to_tensor(B, A)
    _same_dtype("linalg.solve", A, B)
    n = A.shape[-1]
    if not left:  # X A = B  <=>  A^T X^T = B^T
        if B.ndim < 2:
            raise ValueError(f"linalg.solve: left=False needs B of shape (*, k, n); got {B.shape}")
        return solve(A.mT, B.mT).mT
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and B.shape == A.shape[:-1])
    Bm = B.unsqueeze(-1) if vector else B
    if Bm.shape[-2] != n:
        raise ValueError(f"linalg.solve: A is {A.shape} but B is {B.shape}: B needs {n} rows")
    try:
        np.broadcast_shapes(A.shape[:-2], Bm.shape[:-2])
    except ValueError:
        raise ValueError(f"linalg.solve: batch dimensions cannot be broadcast: A is {A.shape}, "
                         f"B is {B.shape}") from None
    X = Solve()(A, Bm)
    return X.squeeze(-1) if vector else X


@op(namespace="linalg", classes=(Inv,))
def inv(A):
    """A^-1, batched; d: gA = -A^-T G A^-T."""
    return Inv("linalg.inv")(check_matrix("linalg.inv", A))


@op(methods=("inverse",))
def inverse(input):
    """A^-1 (torch.inverse; the same as cr.linalg.inv)."""
    return Inv("inverse")(check_matrix("inverse", input))


@op(namespace="linalg", classes=(Det,))
def det(A):
    """det A, batched; d: gA = g det(A) A^-T (Jacobi's formula)."""
    return Det()(check_matrix("linalg.det", A))


@op("det", methods=("det",))
def _det(input):
    """det A (torch.det; the same as cr.linalg.det)."""
    return Det()(check_matrix("det", input))


@op(namespace="linalg", returns="linalg_slogdet", classes=(LogAbsDet, DetSign))
def slogdet(A):
    """(sign, logabsdet) with det A = sign exp(logabsdet); d logabsdet: gA = g A^-T."""
    A = check_matrix("linalg.slogdet", A)
    return return_types.linalg_slogdet(DetSign()(A), LogAbsDet()(A))


@op("slogdet", methods=("slogdet",), returns="slogdet")
def _slogdet(input):
    """(sign, logabsdet) of det A (torch.slogdet)."""
    A = check_matrix("slogdet", input)
    return return_types.slogdet(DetSign()(A), LogAbsDet()(A))


def _logdet(name, A):
    A = check_matrix(name, A)
    sign = DetSign()(A)
    # torch's logdet: log det A; nan when det < 0, -inf when det = 0
    return where(sign >= 0, LogAbsDet()(A), const(np.array(np.nan, dtype=A.dtype), A))


@op(namespace="linalg")
def logdet(A):
    """log det A (nan where det A < 0, as torch.logdet); d: gA = g A^-T."""
    return _logdet("linalg.logdet", A)


@op("logdet", methods=("logdet",))
def _logdet_method(input):
    """log det A (torch.logdet: nan where det A < 0); d: gA = g A^-T."""
    return _logdet("logdet", input)


@op(namespace="linalg", classes=(Pinv,))
def pinv(A, *, atol=None, rtol=None, hermitian=False):
    """Moore-Penrose pseudo-inverse A^+ (singular values <= max(atol, rtol s_max) dropped;
    rtol defaults to eps max(m, n)); d: the constant-rank formula (Golub & Pereyra)."""
    A = check_matrix("linalg.pinv", A, square=hermitian)
    return Pinv(atol, rtol, hermitian)(A)


@op("pinverse", methods=("pinverse",))
def _pinverse(input, rcond=1e-15):
    """A^+ (torch.pinverse: singular values <= rcond s_max dropped)."""
    return Pinv(None, rcond, False)(check_matrix("pinverse", input, square=False))


_LSTSQ_DRIVERS = (None, "gels", "gelsy", "gelsd", "gelss")


@op(namespace="linalg", returns="linalg_lstsq")
def lstsq(A, B, rcond=None, *, driver=None):
    """(solution, residuals, rank, singular_values): X minimising ||A X - B||_F (the minimum-norm
    one), X = A^+ B (differentiable through pinv, constant rank). As torch: residuals (||A X -
    B||^2 per column) only when m > n and driver is not 'gelsy' (the default; torch also needs A
    full rank);
    rank unless driver 'gels'; singular values for 'gelsd'/'gelss'; empty tensors otherwise."""
    from chainrule.ops.linalg_norms import MatrixRank, svdvals

    A = check_matrix("linalg.lstsq", A, square=False)
    B = to_tensor(B, A)
    _same_dtype("linalg.lstsq", A, B)
    if driver not in _LSTSQ_DRIVERS:
        raise ValueError(f"linalg.lstsq: driver must be one of {_LSTSQ_DRIVERS}; got {driver!r}")
    m, n = A.shape[-2:]
    vector = B.ndim == A.ndim - 1
    Bm = B.unsqueeze(-1) if vector else B
    if Bm.shape[-2] != m:
        raise ValueError(f"linalg.lstsq: A is {A.shape} but B is {B.shape}: B needs {m} rows")
    if rcond is None:
        rcond = np.finfo(A.dtype).eps * max(m, n)
    X = Pinv(None, rcond, False)(A) @ Bm
    empty = from_array(xp_of(A).zeros((0,), dtype=A.dtype))
    rank = from_array(np.zeros((0,), dtype=np.int64))
    if driver != "gels":
        rank = MatrixRank(None, rcond, False)(A)
    residuals = empty
    if m > n and driver not in (None, "gelsy"):
        # (torch returns them only when A is full rank too; a shape decided by values would
        # stop cr.compile, and the minimal residual is defined at any rank)
        residuals = ((A @ X - Bm) ** 2).sum(-2)
    svals = svdvals(A) if driver in ("gelsd", "gelss") else empty
    if vector:
        X = X.squeeze(-1)
        residuals = residuals.squeeze(-1) if residuals is not empty else residuals
    return return_types.linalg_lstsq(X, residuals, rank, svals)


@op(namespace="linalg")
def matrix_power(A, n):
    """A^n for an integer n (n < 0: (A^-1)^|n|; n = 0: the identity), by repeated squaring;
    differentiable through matmul (and inv)."""
    A = check_matrix("linalg.matrix_power", A)
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
        raise TypeError(f"linalg.matrix_power: n must be an integer; got {n!r}")
    if n == 0:
        eye = np.broadcast_to(np.eye(A.shape[-1], dtype=A.dtype), A.shape)
        return from_array(eye.copy())
    if n < 0:
        A, n = Inv("linalg.matrix_power")(A), -n
    result, square = None, A
    while True:
        if n & 1:
            result = square if result is None else matmul(result, square)
        n >>= 1
        if not n:
            return result
        square = matmul(square, square)


@op("matrix_power", methods=("matrix_power",))
def _matrix_power(input, n):
    """A^n for an integer n (torch.matrix_power)."""
    return matrix_power(input, n)


@op(namespace="linalg", classes=(MatrixExp,))
def matrix_exp(A):
    """exp(A) = sum_k A^k / k!, batched; d: the Frechet derivative of exp at A^T (block form)."""
    return MatrixExp()(check_matrix("linalg.matrix_exp", A))


@op("matrix_exp", methods=("matrix_exp",))
def _matrix_exp(input):
    """exp(A) (torch.matrix_exp)."""
    return MatrixExp()(check_matrix("matrix_exp", input))


@op("cholesky", namespace="linalg", classes=(Cholesky,))
def linalg_cholesky(A, *, upper=False):
    """L with A = L L^T (L^T when upper=True), A symmetric positive-definite, batched;
    d: gA = L^-T sym(tril(L^T gL)) L^-1 (Murray, 2016)."""
    A = check_matrix("linalg.cholesky", A)
    try:
        L = Cholesky()(A)
    except ValueError:
        where = ""
        if A.ndim > 2:
            for idx in np.ndindex(A.shape[:-2]):
                try:
                    np.linalg.cholesky(A._data[idx])
                except np.linalg.LinAlgError:
                    where = f" (batch index {idx})"
                    break
        raise ValueError(f"linalg.cholesky: the matrix is not positive-definite{where}; got A "
                         f"of shape {A.shape}") from None
    return L.mT if upper else L


@op(namespace="linalg", classes=(TriangularSolve,))
def solve_triangular(A, B, *, upper, left=True, unitriangular=False):
    """X with A X = B (X A = B when left=False) for a triangular A; d: gB = A^-T G,
    gA = -tri(gB X^T)."""
    A = check_matrix("linalg.solve_triangular", A)
    B = to_tensor(B, A)
    if unitriangular:  # the diagonal is taken as ones, whatever A holds there
        n = A.shape[-1]
        keep = np.triu(np.ones((n, n)), 1) if upper else np.tril(np.ones((n, n)), -1)
        A = A * const(keep.astype(A.dtype), A) + _eye(n, A.dtype, A)
    if not left:
        return TriangularSolve(not upper)(A.mT, B.mT).mT
    return TriangularSolve(upper)(A, B)
