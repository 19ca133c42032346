"""Optimal transport: the Earth Mover's distance, finite where KL is infinite (POT's names).

wasserstein_1d: exact, from the quantile functions. emd: exact discrete OT by linear
programming (scipy.optimize.linprog, imported lazily), or by an optimal assignment
(scipy.optimize.linear_sum_assignment) when both marginals are uniform of the same size.
sinkhorn: entropic OT in the log domain, differentiable by unrolling its iterations.
"""

import warnings
from collections import namedtuple

import numpy as np

from chainrule.core.function import Function, Nondifferentiable
from chainrule.core.tensor import from_array
from chainrule.info.entropy import _float, nonnegative
from chainrule.ops.elementwise import log, where
from chainrule.ops.reduction import cumsum
from chainrule.ops.shape import concatenate
from chainrule.ops.special import logsumexp

OTResult = namedtuple("OTResult", ["cost", "plan"])
OTResult.__doc__ = "Optimal transport: cost = <plan, M> (a scalar Tensor) and the plan (n, m)."


def _weights(op, values, weights, name):
    values = _float(values)
    if values.ndim != 1 or values.shape[0] == 0:
        raise ValueError(f"{op}: {name}_values must be a non-empty 1-D array; got shape "
                         f"{values.shape}")
    if weights is None:
        return values, from_array(np.full(values.shape, 1 / values.shape[0], dtype=values.dtype))
    weights = nonnegative(op, _float(weights, values), f"{name}_weights")
    if weights.shape != values.shape:
        raise ValueError(f"{op}: {name}_weights must match {name}_values; got shapes "
                         f"{weights.shape} and {values.shape}")
    total = weights.sum()
    if not total._data > 0:
        raise ValueError(f"{op}: {name}_weights must have a positive sum; got {total.item()}")
    return values, weights / total


def wasserstein_1d(u_values, v_values, u_weights=None, v_weights=None, p=1):
    """W_p^p = int_0^1 |F_u^-1(t) - F_v^-1(t)|^p dt between two weighted samples on the line.

    Returns the p-th power, as POT's ot.wasserstein_1d; for p = 1 it is W_1, the value of
    scipy.stats.wasserstein_distance. Weights default to uniform and are normalised.
    Differentiable in the values and the weights.

        >>> import chainrule as cr
        >>> cr.info.wasserstein_1d([0.0, 1.0], [2.0, 3.0]).item()  # move everything by 2
        2.0
    """
    if not p >= 1:
        raise ValueError(f"wasserstein_1d: p must be >= 1; got {p!r}")
    u, uw = _weights("wasserstein_1d", u_values, u_weights, "u")
    v, vw = _weights("wasserstein_1d", v_values, v_weights, "v")
    ui, vi = np.argsort(u._data, kind="stable"), np.argsort(v._data, kind="stable")
    u, uw, v, vw = u[ui], uw[ui], v[vi], vw[vi]
    ucw, vcw = cumsum(uw), cumsum(vw)
    levels = concatenate([ucw, vcw])
    levels = levels[np.argsort(levels._data, kind="stable")]
    # the quantile function is constant on each (t_{k-1}, t_k]: read it at the right end
    uq = u[np.minimum(np.searchsorted(ucw._data, levels._data), u.shape[0] - 1)]
    vq = v[np.minimum(np.searchsorted(vcw._data, levels._data), v.shape[0] - 1)]
    dt = levels - concatenate([from_array(np.zeros(1, dtype=levels.dtype)), levels[:-1]])
    gap = (uq - vq).abs()
    return (dt * (gap if p == 1 else gap ** p)).sum()


def wasserstein_distance(u_values, v_values, u_weights=None, v_weights=None):
    """W_1 = int |F_u(x) - F_v(x)| dx (scipy.stats.wasserstein_distance), differentiable."""
    return wasserstein_1d(u_values, v_values, u_weights, v_weights, p=1)


def _marginals(op, a, b, M):
    M = _float(M)
    a = nonnegative(op, _float(a, M), "a")
    b = nonnegative(op, _float(b, M), "b")
    if a.ndim != 1 or b.ndim != 1 or M.shape != (a.shape[0], b.shape[0]):
        raise ValueError(f"{op}: a (n,), b (m,) and M (n, m) do not fit; got shapes {a.shape}, "
                         f"{b.shape} and {M.shape}")
    sa, sb = float(a._data.sum()), float(b._data.sum())
    if not abs(sa - sb) <= 1e-6 * max(sa, sb) or sa <= 0:
        raise ValueError(f"{op}: a and b must carry the same positive mass; got sums {sa} and "
                         f"{sb}")
    return a, b, M


class EMDPlan(Nondifferentiable):
    """(P*, u, v) = the optimal plan of min_P <P, M> s.t. P 1 = a, P^T 1 = b, P >= 0, and the
    dual potentials (centred to mean 0, as POT does): an assignment for uniform n x n marginals,
    else a linear program (SciPy's HiGHS)"""

    __slots__ = ()

    def forward(self, a, b, M):
        if _uniform_square(a, b):
            return _assignment(M, a.dtype)
        return _linear_program(a, b, M)


def _linear_program(a, b, M):
    """(plan, u, v) of the transport LP (any marginals), by SciPy's HiGHS."""
    from scipy.optimize import linprog
    from scipy.sparse import coo_array, vstack

    n, m = M.shape
    b = b * (a.sum() / b.sum())  # equal masses to the last bit, or the LP is infeasible
    rows = coo_array((np.ones(n * m), (np.repeat(np.arange(n), m), np.arange(n * m))),
                     shape=(n, n * m))
    cols = coo_array((np.ones(n * m), (np.tile(np.arange(m), n), np.arange(n * m))),
                     shape=(m, n * m))
    res = linprog(M.reshape(-1).astype(np.float64), A_eq=vstack([rows, cols]).tocsr(),
                  b_eq=np.concatenate([a, b]).astype(np.float64), bounds=(0, None),
                  method="highs")
    if res.status != 0:
        raise ValueError(f"emd: the linear program failed: {res.message}")
    duals = res.eqlin.marginals
    return (res.x.reshape(n, m).astype(M.dtype), (duals[:n] - duals[:n].mean()).astype(a.dtype),
            (duals[n:] - duals[n:].mean()).astype(b.dtype))


def _uniform_square(a, b):
    """n = m and both marginals uniform: the optimal plan is a permutation / n (Birkhoff)."""
    n = a.shape[0]
    return n == b.shape[0] and n > 1 and np.ptp(a) <= 1e-12 * a.max() and \
        np.ptp(b) <= 1e-12 * b.max() and abs(a.sum() - b.sum()) <= 1e-12 * a.sum()


def _assignment(M, dtype):
    """The uniform n x n problem as an assignment (scipy's linear_sum_assignment, exact), with
    dual potentials u_i + v_j <= M_ij, equality on the assignment: v solves the difference
    constraints v_j - v_s(i) <= M_ij - M_i,s(i) by Bellman-Ford (no negative cycle, since the
    assignment s is optimal), u_i = M_i,s(i) - v_s(i); both centred to mean 0, as the LP's."""
    from scipy.optimize import linear_sum_assignment

    n = M.shape[0]
    M64 = M.astype(np.float64)
    rows, cols = linear_sum_assignment(M64)
    plan = np.zeros((n, n), dtype=M.dtype)
    plan[rows, cols] = 1.0 / n
    owner = np.empty(n, dtype=np.intp)
    owner[cols] = rows  # owner[k] = the row assigned to column k
    # edge k -> j of weight M[owner[k], j] - M[owner[k], k]
    W = M64[owner] - M64[owner, np.arange(n)][:, None]
    v = np.zeros(n)
    for _ in range(n + 1):
        new = np.minimum(v, (v[:, None] + W).min(axis=0))
        if np.array_equal(new, v):
            break
        v = new
    u = M64[rows, cols] - v[cols]
    return plan, (u - u.mean()).astype(dtype), (v - v.mean()).astype(dtype)


class EMDCost(Function):
    """c = <P*, M> for the optimal plan P* with duals u, v (inputs after a, b, M, from
    EMDPlan);  dc/dM = P*, dc/da = u, dc/db = v (constant where the optimal plan is unique)"""

    __slots__ = ()

    def forward(self, a, b, M, plan, u, v):
        return np.asarray((plan * M).sum(), dtype=M.dtype)

    def vjp(self, g):
        _, _, _, plan, u, v = self.inputs
        return g * u, g * v, g * plan, None, None, None


def emd(a, b, M):
    """Exact optimal transport: OTResult(cost = min <P, M>, plan P) with marginals a, b.

    a (n,) and b (m,) are non-negative with equal sums; M (n, m) is the ground cost. POT's
    ot.emd returns only the plan (ot.emd2 the cost). The cost is differentiable: dcost/dM is
    the plan, dcost/da and dcost/db are the dual potentials.

    Uniform marginals of equal size n (the case of two equal-size samples) take a fast exact
    path: the optimal plan is then a permutation / n, found by an assignment solver
    (scipy.optimize.linear_sum_assignment, O(n^3)) instead of the LP; the value is the same.
    """
    a, b, M = _marginals("emd", a, b, M)
    plan, u, v = EMDPlan()(a, b, M)
    return OTResult(EMDCost()(a, b, M, plan, u, v), plan)


def emd2(a, b, M):
    """The exact optimal transport cost min <P, M> alone (POT's ot.emd2)."""
    return emd(a, b, M).cost


def _safe_log(x):
    positive = x > 0  # (an op: compiled calls replay it)
    one = from_array(np.ones((), dtype=x.dtype))
    return where(positive, log(where(positive, x, one)), from_array(np.asarray(-np.inf, x.dtype)))


def sinkhorn(a, b, M, reg, numItermax=1000, stopThr=1e-9, warn=True):
    """Entropic OT: P = argmin <P, M> - reg H(P) with marginals a, b; returns OTResult(<P, M>, P).

    Log-domain Sinkhorn: with K = -M / reg, alternately
    f = log a - logsumexp_j(K_ij + g_j) and g = log b - logsumexp_i(K_ij + f_i); then
    P = exp(f_i + K_ij + g_j). No exp can overflow at small reg. Differentiable by unrolling the
    iterations. As reg -> 0 the cost tends to emd's. POT's ot.sinkhorn returns only the plan.
    Stops when |P 1 - a|_1 < stopThr (checked every 10 iterations) or after numItermax.
    """
    if not reg > 0:
        raise ValueError(f"sinkhorn: reg must be positive; got {reg!r}")
    a, b, M = _marginals("sinkhorn", a, b, M)
    log_a, log_b = _safe_log(a), _safe_log(b)
    K = M * (-1.0 / reg)
    g = from_array(np.zeros(b.shape, dtype=M.dtype))
    converged = False
    for it in range(numItermax):
        f = log_a - logsumexp(K + g, axis=1)
        g = log_b - logsumexp(K + f.unsqueeze(1), axis=0)
        if it % 10 == 9 or it == numItermax - 1:
            row = np.exp(f._data[:, None] + K._data + g._data).sum(1)
            if np.abs(row - a._data).sum() < stopThr:
                converged = True
                break
    if warn and not converged:
        warnings.warn(f"sinkhorn: did not converge in {numItermax} iterations (reg={reg}); "
                      "raise numItermax or reg", RuntimeWarning, stacklevel=2)
    plan = (f.unsqueeze(1) + K + g).exp()
    return OTResult((plan * M).sum(), plan)


def sinkhorn2(a, b, M, reg, numItermax=1000, stopThr=1e-9, warn=True):
    """The entropic transport cost <P, M> alone (POT's ot.sinkhorn2)."""
    return sinkhorn(a, b, M, reg, numItermax, stopThr, warn).cost
