"""Op-table rows of cr.linalg, einsum, tensordot, outer and kron.

Inputs are drawn in (-2, 2) (here and in the fuzz test), so each row first maps them onto a
well-conditioned matrix: WELL (diagonally dominant: solve/inv/det), SYM (symmetric with eigenvalues
near 1, 2, 3: eigh), SEP (singular values near 3, 2, 1: svd/qr/lstsq/pinv). Decompositions are
unique only up to signs, so their rows output gauge-invariant functions (squared entries of U, Q,
R; U diag(w) V^T; U f(L) U^T) besides the values. torch= gives the same function in PyTorch
(checked live when torch is installed, and against tests/golden/linalg.npz always).
"""

import numpy as np
import scipy.linalg

import chainrule as cr
from tests.core.op_table import row

ROWS = []  # this family's rows (the golden file covers those with a torch function)


def lrow(*args, **kwargs):
    from tests.core.op_table import OPS

    row(*args, **kwargs)
    ROWS.append(OPS[-1])


def _torch():
    import torch

    return torch


def _mT(A):
    return np.swapaxes(A, -1, -2)


# ---- input maps (the same formula in chainrule, NumPy and torch) ------------------------------
def WELL(A):
    n = A.shape[-1]
    eye = np.eye(n) if isinstance(A, np.ndarray) else _eye_like(A)
    return 0.2 * A + 1.5 * eye


def _eye_like(A):
    n = A.shape[-1]
    if isinstance(A, cr.Tensor):
        return cr.tensor(np.eye(n), dtype=A.dtype)
    return _torch().eye(n, dtype=A.dtype)


def _diag_like(A, values):
    v = np.diag(np.asarray(values, dtype=np.float64))
    if isinstance(A, np.ndarray):
        return v
    if isinstance(A, cr.Tensor):
        return cr.tensor(v, dtype=A.dtype)
    return _torch().tensor(v, dtype=A.dtype)


def SYM(A):
    n = A.shape[-1]
    At = _mT(A) if isinstance(A, np.ndarray) else A.mT
    return 0.05 * (A + At) / 2 + _diag_like(A, np.arange(1, n + 1))


def _base(shape):
    m, n = shape[-2:]
    B = np.zeros((m, n))
    k = min(m, n)
    B[np.arange(k), np.arange(k)] = np.arange(k, 0, -1) + 0.5
    return B


def SEP(A):
    B = _base(A.shape)
    if isinstance(A, cr.Tensor):
        B = cr.tensor(B, dtype=A.dtype)
    elif not isinstance(A, np.ndarray):
        B = _torch().tensor(B, dtype=A.dtype)
    return 0.05 * A + B


def SPD(A):
    At = _mT(A) if isinstance(A, np.ndarray) else A.mT
    return A @ At + 3 * (np.eye(A.shape[-1]) if isinstance(A, np.ndarray) else _eye_like(A))


def NEG(A):  # WELL with its first row negated: det < 0
    s = np.ones(A.shape[-1])
    s[0] = -1
    return _diag_like(A, s) @ WELL(A)


L = cr.linalg


def TL():
    return _torch().linalg


# ---- solve, inv, det -------------------------------------------------------------------------
SOLVE = [((3, 3), (3, 2)), ((3, 3), (3,)), ((2, 3, 3), (2, 3)), ((2, 3, 3), (2, 3, 1)),
         ((2, 3, 3), (3, 2)), ((1, 2, 2), (3, 2, 1))]
for sa, sb in SOLVE:
    def _np_solve(A, B, sa=sa):
        A = WELL(A)
        if B.ndim == 1 or (B.ndim == A.ndim - 1 and B.shape == A.shape[:-1]):
            return np.linalg.solve(A, B[..., None])[..., 0]
        return np.linalg.solve(A, B)

    lrow(f"linalg.solve{sa}{sb}", lambda A, B: L.solve(WELL(A), B), _np_solve, (sa, sb),
         torch=lambda A, B: TL().solve(WELL(A), B))
lrow("linalg.solve_left_false", lambda A, B: L.solve(WELL(A), B, left=False),
     lambda A, B: np.linalg.solve(_mT(WELL(A)), _mT(B)).swapaxes(-1, -2), ((3, 3), (2, 3)),
     torch=lambda A, B: TL().solve(WELL(A), B, left=False))
for s in [(3, 3), (2, 3, 3)]:
    lrow(f"linalg.inv{s}", lambda A: L.inv(WELL(A)), lambda A: np.linalg.inv(WELL(A)), (s,),
         torch=lambda A: TL().inv(WELL(A)))
    lrow(f"linalg.det{s}", lambda A: L.det(WELL(A)), lambda A: np.linalg.det(WELL(A)), (s,),
         torch=lambda A: TL().det(WELL(A)))
    lrow(f"linalg.slogdet{s}", lambda A: tuple(L.slogdet(NEG(A))),
         lambda A: tuple(np.linalg.slogdet(NEG(A))), (s,),
         torch=lambda A: tuple(TL().slogdet(NEG(A))))
    lrow(f"linalg.logdet{s}", lambda A: L.logdet(WELL(A)),
         lambda A: np.linalg.slogdet(WELL(A))[1], (s,), torch=lambda A: WELL(A).logdet())
lrow("det_negative", lambda A: cr.det(NEG(A)), lambda A: np.linalg.det(NEG(A)), ((3, 3),),
     torch=lambda A: NEG(A).det())
lrow("Tensor.inverse", lambda A: WELL(A).inverse(), lambda A: np.linalg.inv(WELL(A)), ((2, 2),),
     torch=lambda A: WELL(A).inverse())
lrow("Tensor.slogdet", lambda A: WELL(A).slogdet().logabsdet + cr.slogdet(NEG(A))[1],
     lambda A: np.linalg.slogdet(WELL(A))[1] + np.linalg.slogdet(NEG(A))[1], ((3, 3),),
     torch=lambda A: WELL(A).slogdet()[1] + _torch().slogdet(NEG(A))[1])
lrow("logdet", lambda A: cr.logdet(SPD(A)), lambda A: np.linalg.slogdet(SPD(A))[1], ((3, 3),),
     torch=lambda A: _torch().logdet(SPD(A)))

# ---- eigh, svd, qr (gauge-invariant functions of the vectors) ---------------------------------
def _eigh_fn(A):
    lam, U = L.eigh(SYM(A))
    return lam, U * U, (U * lam.exp().unsqueeze(-2)) @ U.mT


def _eigh_np(A):
    S = SYM(A)
    lam, U = np.linalg.eigh(S)
    return lam, U * U, np.stack([scipy.linalg.expm(M) for M in S.reshape(-1, *S.shape[-2:])]
                                ).reshape(S.shape)


def _eigh_torch(A):
    lam, U = TL().eigh(SYM(A))
    return lam, U * U, (U * lam.exp().unsqueeze(-2)) @ U.mT


for s in [(3, 3), (2, 3, 3), (1, 1)]:
    lrow(f"linalg.eigh{s}", _eigh_fn, _eigh_np, (s,), torch=_eigh_torch)
lrow("linalg.eigh_upper", lambda A: L.eigh(SYM(A), UPLO="U").eigenvectors ** 2,
     lambda A: np.linalg.eigh(SYM(A), UPLO="U")[1] ** 2, ((3, 3),),
     torch=lambda A: TL().eigh(SYM(A), UPLO="U").eigenvectors ** 2)
for s in [(3, 3), (2, 4, 4)]:
    lrow(f"linalg.eigvalsh{s}", lambda A: L.eigvalsh(SYM(A)),
         lambda A: np.linalg.eigvalsh(SYM(A)), (s,), torch=lambda A: TL().eigvalsh(SYM(A)))


def _svd_fn(full):
    def fn(A):
        U, S, Vh = L.svd(SEP(A), full_matrices=full)
        k = S.shape[-1]
        w = cr.tensor(np.arange(1.0, k + 1), dtype=A.dtype)
        U, Vh = U[..., :k], Vh[..., :k, :]
        return S, U * U, Vh * Vh, (U * w) @ Vh

    return fn


def _svd_np(A):
    U, S, Vh = np.linalg.svd(SEP(A), full_matrices=False)
    w = np.arange(1.0, S.shape[-1] + 1)
    return S, U * U, Vh * Vh, (U * w) @ Vh


def _svd_torch(full):
    def fn(A):
        U, S, Vh = TL().svd(SEP(A), full_matrices=full)
        k = S.shape[-1]
        w = _torch().arange(1.0, k + 1, dtype=A.dtype)
        U, Vh = U[..., :k], Vh[..., :k, :]
        return S, U * U, Vh * Vh, (U * w) @ Vh

    return fn


for s in [(3, 2), (2, 3), (3, 3), (2, 4, 2), (2, 2, 3)]:
    lrow(f"linalg.svd{s}", _svd_fn(False), _svd_np, (s,), torch=_svd_torch(False))
lrow("linalg.svd_full(3, 2)", _svd_fn(True), _svd_np, ((3, 2),), torch=_svd_torch(True))
lrow("linalg.svd_full(2, 3)", _svd_fn(True), _svd_np, ((2, 3),), torch=_svd_torch(True))
for s in [(2, 3), (2, 3, 2)]:
    lrow(f"linalg.svdvals{s}", lambda A: L.svdvals(SEP(A)),
         lambda A: np.linalg.svd(SEP(A), compute_uv=False), (s,),
         torch=lambda A: TL().svdvals(SEP(A)))


def _qr_fn(mode):
    def fn(A):
        Q, R = L.qr(SEP(A), mode=mode)
        k = min(A.shape[-2:])
        return Q[..., :k] ** 2, R[..., :k, :] ** 2, Q[..., :k] @ R[..., :k, :].exp()

    return fn


def _qr_np(A):
    Q, R = np.linalg.qr(SEP(A))
    return Q ** 2, R ** 2, Q @ np.exp(R)


def _qr_torch(mode):
    def fn(A):
        Q, R = TL().qr(SEP(A), mode=mode)
        k = min(A.shape[-2:])
        return Q[..., :k] ** 2, R[..., :k, :] ** 2, Q[..., :k] @ R[..., :k, :].exp()

    return fn


for s in [(3, 2), (3, 3), (2, 3), (2, 4, 2), (2, 2, 4)]:
    lrow(f"linalg.qr{s}", _qr_fn("reduced"), _qr_np, (s,), torch=_qr_torch("reduced"))
lrow("linalg.qr_complete(2, 3)", _qr_fn("complete"), _qr_np, ((2, 3),),
     torch=_qr_torch("complete"))
lrow("linalg.qr_complete(3, 2)", _qr_fn("complete"), _qr_np, ((3, 2),))  # (torch: no gradient)
lrow("linalg.qr_raw", lambda A: tuple(L.qr(SEP(A))), lambda A: tuple(np.linalg.qr(SEP(A))),
     ((4, 3),), torch=lambda A: tuple(TL().qr(SEP(A))))

# ---- cholesky, lstsq, pinv, matrix functions ----------------------------------------------------
lrow("linalg.cholesky", lambda A: L.cholesky(SPD(A)), lambda A: np.linalg.cholesky(SPD(A)),
     ((2, 3, 3),), torch=lambda A: TL().cholesky(SPD(A)))
lrow("linalg.cholesky_upper", lambda A: L.cholesky(SPD(A), upper=True),
     lambda A: _mT(np.linalg.cholesky(SPD(A))), ((3, 3),),
     torch=lambda A: TL().cholesky(SPD(A), upper=True))
lrow("linalg.solve_triangular", lambda A, B: L.solve_triangular(
    L.cholesky(SPD(A)), B, upper=False),
    lambda A, B: np.linalg.solve(np.linalg.cholesky(SPD(A)), B),
    ((3, 3), (3, 2)), torch=lambda A, B: TL().solve_triangular(TL().cholesky(SPD(A)), B,
                                                               upper=False))
lrow("linalg.solve_triangular_right_unit", lambda A, B: L.solve_triangular(
    A * cr.tensor(np.triu(np.ones((3, 3))), dtype=A.dtype), B, upper=True, left=False,
    unitriangular=True),
    lambda A, B: _mT(np.linalg.solve(_mT(np.triu(A, 1) + np.eye(3)), _mT(B))), ((3, 3), (2, 3)),
    torch=lambda A, B: TL().solve_triangular(A.triu(), B, upper=True, left=False,
                                             unitriangular=True))


def _lstsq_np(A, B):
    A = SEP(A)
    return np.linalg.lstsq(A, B, rcond=None)[0]


for sa, sb in [((4, 2), (4, 3)), ((2, 3), (2, 1)), ((4, 3), (4,))]:
    lrow(f"linalg.lstsq{sa}{sb}", lambda A, B: L.lstsq(SEP(A), B).solution, _lstsq_np, (sa, sb),
         torch=lambda A, B: TL().lstsq(SEP(A), B if B.ndim > 1 else B[:, None]).solution.reshape(
             (-1,) + tuple(B.shape[1:])))
lrow("linalg.lstsq_batched", lambda A, B: L.lstsq(SEP(A), B).solution,
     lambda A, B: np.stack([_lstsq_np(a, b) for a, b in zip(A, B)]), ((2, 4, 2), (2, 4, 1)),
     torch=lambda A, B: TL().lstsq(SEP(A), B).solution)
lrow("linalg.lstsq_gelsd", lambda A, B: L.lstsq(SEP(A), B, driver="gelsd").residuals,
     lambda A, B: np.linalg.lstsq(SEP(A), B, rcond=None)[1], ((5, 2), (5, 2)),
     torch=lambda A, B: TL().lstsq(SEP(A), B, driver="gelsd").residuals)
for s in [(3, 2), (2, 3), (2, 3, 2)]:
    lrow(f"linalg.pinv{s}", lambda A: L.pinv(SEP(A)), lambda A: np.linalg.pinv(SEP(A)), (s,),
         torch=lambda A: TL().pinv(SEP(A)))
lrow("linalg.pinv_hermitian", lambda A: L.pinv(SYM(A) - 2.5 * _eye_like(A), hermitian=True),
     lambda A: np.linalg.pinv(SYM(A) - 2.5 * np.eye(3)), ((3, 3),),
     torch=lambda A: TL().pinv(SYM(A) - 2.5 * _eye_like(A), hermitian=True))
lrow("Tensor.pinverse", lambda A: SEP(A).pinverse(), lambda A: np.linalg.pinv(SEP(A)), ((3, 2),),
     torch=lambda A: SEP(A).pinverse())
for n in (1, 3, -2):
    lrow(f"linalg.matrix_power[{n}]", lambda A, n=n: L.matrix_power(WELL(A), n),
         lambda A, n=n: np.linalg.matrix_power(WELL(A), n), ((2, 3, 3),),
         torch=lambda A, n=n: TL().matrix_power(WELL(A), n))
lrow("Tensor.matrix_power", lambda A: A.matrix_power(2), lambda A: A @ A, ((3, 3),),
     torch=lambda A: A.matrix_power(2))
lrow("linalg.matrix_power_unbatched[-1]", lambda A: L.matrix_power(WELL(A), -1),
     lambda A: np.linalg.inv(WELL(A)), ((3, 3),), torch=lambda A: TL().matrix_power(WELL(A), -1))
lrow("linalg.matrix_exp", lambda A: L.matrix_exp(0.5 * A),
     lambda A: scipy.linalg.expm(0.5 * A), ((3, 3),), torch=lambda A: TL().matrix_exp(0.5 * A))
lrow("matrix_exp_batched", lambda A: (0.5 * A).matrix_exp(), lambda A: scipy.linalg.expm(0.5 * A),
     ((2, 2, 2),), torch=lambda A: (0.5 * A).matrix_exp())

# ---- norms, cond, rank, trace ----------------------------------------------------------------
VNORMS = [(2, None, False, "real"), (1, -1, False, "away"), (3, 1, True, "real"),
          (0.5, (0, 2), False, "away"), (np.inf, -1, False, "real"),
          (-np.inf, None, True, "real")]
for p, dim, keep, dom in VNORMS:
    lrow(f"linalg.vector_norm[{p},{dim},{keep}]",
         lambda x, p=p, d=dim, k=keep: L.vector_norm(x, p, d, k),
         lambda x, p=p, d=dim, k=keep: _np_vnorm(x, p, d, k), ((2, 3, 4),), (dom,),
         torch=lambda x, p=p, d=dim, k=keep: TL().vector_norm(x, p, d, k))


lrow("linalg.vector_norm[0]", lambda x: x * L.vector_norm(x, 0, 1, True),  # (a count: no grad)
     lambda x: x * (x != 0).sum(1, keepdims=True), ((2, 3),), ("away",))


def _np_vnorm(x, p, dim, keep):
    a = np.abs(x)
    if p == np.inf:
        return a.max(axis=dim, keepdims=keep)
    if p == -np.inf:
        return a.min(axis=dim, keepdims=keep)
    if p == 0:
        return (x != 0).sum(axis=dim, keepdims=keep).astype(x.dtype)
    return (a ** p).sum(axis=dim, keepdims=keep) ** (1 / p)


MNORMS = [("fro", "real"), ("nuc", "sep"), (2, "sep"), (-2, "sep"), (1, "away"), (-1, "away"),
          (np.inf, "away"), (-np.inf, "away")]
for p, dom in MNORMS:
    prep = SEP if dom == "sep" else (lambda A: A)
    lrow(f"linalg.matrix_norm[{p}]", lambda A, p=p, f=prep: L.matrix_norm(f(A), p),
         lambda A, p=p, f=prep: np.linalg.norm(f(A), p, axis=(-2, -1)), ((2, 3, 2),),
         ("real" if dom == "sep" else dom,),
         torch=lambda A, p=p, f=prep: TL().matrix_norm(f(A), p))
for p in ("nuc", np.inf):
    lrow(f"linalg.matrix_norm_unbatched[{p}]", lambda A, p=p: L.matrix_norm(SEP(A), p),
         lambda A, p=p: np.linalg.norm(SEP(A), p), ((3, 2),),
         torch=lambda A, p=p: TL().matrix_norm(SEP(A), p))
lrow("linalg.matrix_norm_dims", lambda A: L.matrix_norm(A, 1, dim=(2, 0), keepdim=True),
     lambda A: np.linalg.norm(A, 1, axis=(2, 0), keepdims=True), ((3, 2, 4),), ("away",),
     torch=lambda A: TL().matrix_norm(A, 1, dim=(2, 0), keepdim=True))
lrow("linalg.norm_flat", lambda A: L.norm(A), lambda A: np.linalg.norm(A.ravel()), ((2, 3, 2),),
     torch=lambda A: TL().norm(A))
lrow("linalg.norm_vector_dim", lambda A: L.norm(A, 3, dim=1, keepdim=True),
     lambda A: _np_vnorm(A, 3, 1, True), ((2, 3),), torch=lambda A: TL().norm(A, 3, dim=1,
                                                                             keepdim=True))
lrow("linalg.norm_matrix", lambda A: L.norm(SEP(A), "nuc"), lambda A: np.linalg.norm(SEP(A), "nuc"),
     ((3, 2),), torch=lambda A: TL().norm(SEP(A), "nuc"))
lrow("linalg.norm_1d_inf", lambda x: L.norm(x, np.inf), lambda x: np.abs(x).max(), ((5,),),
     torch=lambda x: TL().norm(x, float("inf")))
lrow("linalg.cond", lambda A: L.cond(SEP(A)), lambda A: np.linalg.cond(SEP(A)), ((2, 3, 2),),
     torch=lambda A: TL().cond(SEP(A)))
lrow("linalg.cond_-2", lambda A: L.cond(SEP(A), -2), lambda A: np.linalg.cond(SEP(A), -2),
     ((3, 3),), torch=lambda A: TL().cond(SEP(A), -2))
lrow("linalg.cond_fro", lambda A: L.cond(WELL(A), "fro"), lambda A: np.linalg.cond(WELL(A), "fro"),
     ((3, 3),))  # (torch 2.13's cond backward fails here: an in-place write on inv's output)
for s in [(3, 2), (2, 3, 2)]:
    lrow(f"linalg.matrix_rank{s}",
         lambda A: cr.where((L.matrix_rank(SEP(A)) == 2)[..., None, None], A, -A),
         lambda A: np.where((np.linalg.matrix_rank(SEP(A)) == 2)[..., None, None], A, -A),
         (s,), torch=lambda A: _torch().where(
             (TL().matrix_rank(SEP(A)) == 2)[..., None, None], A, -A))
lrow("linalg.diagonal_unbatched", lambda A: L.diagonal(A, offset=-1),
     lambda A: np.diagonal(A, -1).copy(), ((3, 3),), torch=lambda A: TL().diagonal(A, offset=-1))
lrow("linalg.diagonal", lambda A: L.diagonal(A, offset=1),
     lambda A: np.diagonal(A, 1, -2, -1).copy(), ((2, 3, 4),),
     torch=lambda A: TL().diagonal(A, offset=1))
lrow("trace", lambda A: cr.trace(A) + A.trace(), lambda A: 2 * np.trace(A), ((3, 4),),
     torch=lambda A: _torch().trace(A) + A.trace())
for s in [(3, 3), (2, 3, 3)]:
    lrow(f"linalg.trace{s}", lambda A: L.trace(A), lambda A: np.trace(A, axis1=-2, axis2=-1),
         (s,))

# ---- einsum and friends (tests/linalg/test_einsum.py checks 20+ equations more) ----------------
EINSUM = [("ij,jk->ik", [(2, 3), (3, 4)]), ("bhqd,bhkd->bhqk", [(2, 2, 3, 2), (2, 2, 4, 2)]),
          ("ii", [(3, 3)]), ("ii->i", [(3, 3)]), ("i,j->ij", [(3,), (2,)]),
          ("...ij,...jk->...ik", [(2, 1, 2, 3), (3, 3, 2)]), ("ij,ij->", [(2, 3), (2, 3)]),
          ("iij,jk", [(2, 2, 3), (3, 2)]), ("ijk->kj", [(2, 3, 2)]),
          ("ij,jk,kl->il", [(2, 3), (3, 2), (2, 2)])]
for eq, shapes in EINSUM:
    lrow(f"einsum[{eq}]", lambda *xs, eq=eq: cr.einsum(eq, *xs),
         lambda *xs, eq=eq: np.einsum(eq, *xs), tuple(shapes),
         torch=lambda *xs, eq=eq: _torch().einsum(eq, *xs))
lrow("tensordot", lambda a, b: cr.tensordot(a, b, dims=([1, 0], [0, 2])),
     lambda a, b: np.tensordot(a, b, axes=([1, 0], [0, 2])), ((3, 2, 4), (2, 5, 3)),
     torch=lambda a, b: _torch().tensordot(a, b, dims=([1, 0], [0, 2])))
lrow("tensordot_int", lambda a, b: a.tensordot(b, 2), lambda a, b: np.tensordot(a, b, 2),
     ((2, 3, 4), (3, 4, 2)), torch=lambda a, b: _torch().tensordot(a, b, 2))
lrow("outer", lambda a, b: cr.outer(a, b) + a.outer(b), lambda a, b: 2 * np.outer(a, b),
     ((3,), (4,)), torch=lambda a, b: _torch().outer(a, b) + a.outer(b))
lrow("kron", lambda a, b: cr.kron(a, b), np.kron, ((2, 3), (3, 2)),
     torch=lambda a, b: _torch().kron(a, b))
lrow("kron_ndim", lambda a, b: a.kron(b), np.kron, ((2, 1, 2), (3, 2)),
     torch=lambda a, b: a.kron(b))
lrow("Tensor.norm", lambda x: x.norm() + x.norm(1, dim=0) + cr.norm(x, "nuc"),
     lambda x: np.linalg.norm(x) + np.abs(x).sum(0) + np.linalg.norm(x, "nuc"), ((3, 2),),
     ("away",), torch=lambda x: x.norm() + x.norm(1, dim=0) + _torch().norm(x, "nuc"))
lrow("linalg.vecdot", lambda x, y: L.vecdot(x, y, dim=1), lambda x, y: (x * y).sum(1),
     ((2, 3, 4), (3, 4)), torch=lambda x, y: TL().vecdot(x, y, dim=1))
lrow("linalg.multi_dot", lambda a, B, C, d: L.multi_dot([a, B, C, d]),
     lambda a, B, C, d: a @ B @ C @ d, ((3,), (3, 4), (4, 2), (2,)),
     torch=lambda a, B, C, d: TL().multi_dot([a, B, C, d]))
lrow("linalg.multi_dot_matrices", lambda A, B, C: L.multi_dot([A, B, C]),
     lambda A, B, C: A @ B @ C, ((5, 2), (2, 4), (4, 3)),
     torch=lambda A, B, C: TL().multi_dot([A, B, C]))
