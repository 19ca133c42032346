"""cr.linalg: torch.linalg's names, arguments, named tuples and batching over leading dims.

solve, inv, det, slogdet, logdet, eigh, eigvalsh, svd, svdvals, qr, cholesky, lstsq, pinv,
matrix_power, matrix_exp, norm, vector_norm, matrix_norm, cond, matrix_rank, diagonal, trace,
solve_triangular, vecdot, multi_dot, matmul. The ops live in chainrule/ops/linalg_*.py,
registered under the "linalg" namespace; this module only exposes them. Forward is NumPy's
LAPACK; each vjp is written in chainrule ops, so second derivatives work. Real dtypes only:
complex inputs are refused. See docs/LINALG.md for the derivatives and the edge cases.

    >>> import chainrule as cr
    >>> A = cr.tensor([[2.0, 1.0], [1.0, 3.0]], requires_grad=True)
    >>> cr.linalg.det(A).item()
    5.0
    >>> cr.linalg.logdet(A).backward()   # d log det A / dA = A^-T
    >>> A.grad.tolist()
    [[0.6000000238418579, -0.20000000298023224], [-0.20000000298023224, 0.4000000059604645]]
"""

from chainrule.ops import matmul, registry

globals().update(registry.exports("linalg"))

__all__ = sorted(registry.exports("linalg")) + ["matmul"]
