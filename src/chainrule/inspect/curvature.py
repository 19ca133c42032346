"""Curvature of a loss: Hessian eigenvalues (Lanczos), trace (Hutchinson), density (SLQ), extrema.

Everything here touches the Hessian H only through Hessian-vector products Hv, one backward pass
through the recorded gradient each, so H (n x n) is never formed for a model with n parameters.
`loss_fn` is a closure taking no arguments that recomputes the loss from the current parameters
(like an optimizer's closure); pass a subset of the parameters (one layer) to study that block.
"""

import warnings
from dataclasses import dataclass

import numpy as np

from chainrule._device import require_host as _require_host
from chainrule.core import mode as _mode
from chainrule.core.engine import grad as _grad
from chainrule.core.tensor import Tensor, from_array
from chainrule.optimize._progress import progress_bar

_WHICH = ("LA", "SA", "LM", "BE")


def _parameters(fname, params):
    if isinstance(params, Tensor):
        params = [params]
    elif hasattr(params, "parameters") and callable(params.parameters):
        params = list(params.parameters())
    else:
        params = list(params)
    if not params:
        raise ValueError(f"{fname}: got no parameters")
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"{fname}: parameter {i} is a {type(p).__name__}, not a Tensor")
        if not p.requires_grad:
            raise ValueError(f"{fname}: parameter {i} (shape {p.shape}) does not require grad")
    return params


class HessianOperator:
    """v -> H v for the loss at the current parameters, as float64 vectors of length n.

    The gradient is recorded once (create_graph=True); each product is one more backward
    pass through it, so H is never formed.
    """

    def __init__(self, loss_fn, params, fname="hessian"):
        self.params = _parameters(fname, params)
        self.n = sum(p.size for p in self.params)
        self.calls = 0
        with _mode.enable_grad():
            loss = loss_fn()
            if not isinstance(loss, Tensor) or loss.size != 1:
                raise ValueError(f"{fname}: loss_fn() must return a scalar Tensor; got "
                                 f"{getattr(loss, 'shape', type(loss).__name__)}")
            self.loss = float(loss.item())
            grads = _grad(loss, self.params, create_graph=True, allow_unused=True)
        self.grad = np.concatenate([np.zeros(p.size) if g is None else
                                    np.asarray(g.numpy(), dtype=np.float64).reshape(-1)
                                    for g, p in zip(grads, self.params)])
        self._live = [(g, p) for g, p in zip(grads, self.params)
                      if g is not None and g.requires_grad]
        self._offsets = np.cumsum([0] + [p.size for p in self.params])

    def _pieces(self, v, p_index):
        lo, hi = self._offsets[p_index], self._offsets[p_index + 1]
        p = self.params[p_index]
        return from_array(np.ascontiguousarray(v[lo:hi].reshape(p.shape), dtype=p.dtype))

    def matvec(self, v):
        """H v for a float64 vector v of length n."""
        v = np.asarray(v, dtype=np.float64)
        self.calls += 1
        out = np.zeros(self.n)
        if not self._live:
            return out
        index = {id(p): i for i, p in enumerate(self.params)}
        cotangents = [self._pieces(v, index[id(p)]) for _, p in self._live]
        with _mode.enable_grad():
            hv = _grad([g for g, _ in self._live], self.params, grad_outputs=cotangents,
                       retain_graph=True, allow_unused=True)
        for i, h in enumerate(hv):
            if h is not None:
                out[self._offsets[i]:self._offsets[i + 1]] = h.numpy().reshape(-1)
        return out

    __matmul__ = matvec

    def dense(self):
        """The full n x n Hessian, column by column (only for small n)."""
        H = np.stack([self.matvec(e) for e in np.eye(self.n)], axis=1)
        return (H + H.T) / 2


def lanczos(matvec, n, steps, v0=None, rng=None, tol=None, want=None):
    """Lanczos tridiagonalisation with full reorthogonalisation: (alpha, beta, Q).

    T = tridiag(beta, alpha, beta) satisfies Q^T H Q = T with Q's columns orthonormal. Stops
    early when `want(T eigenvalues, residuals)` says the wanted Ritz values converged.
    """
    rng = np.random.default_rng(0) if rng is None else rng
    steps = min(int(steps), n)
    Q = np.zeros((steps + 1, n))
    alpha, beta = np.zeros(steps), np.zeros(steps)
    q = rng.standard_normal(n) if v0 is None else np.asarray(v0, dtype=np.float64).copy()
    Q[0] = q / np.linalg.norm(q)
    scale = 0.0
    m = steps
    for j in range(steps):
        w = matvec(Q[j])
        alpha[j] = Q[j] @ w
        w -= alpha[j] * Q[j] + (beta[j - 1] * Q[j - 1] if j else 0.0)
        for _ in range(2):  # twice is enough (Kahan-Parlett "twice is enough")
            w -= Q[:j + 1].T @ (Q[:j + 1] @ w)
        beta[j] = np.linalg.norm(w)
        scale = max(scale, abs(alpha[j]) + beta[j])
        if j + 1 == steps:
            m = steps
            break
        if beta[j] <= 1e-10 * max(scale, 1e-300):
            # invariant subspace found: continue from a fresh direction (T decouples here)
            beta[j] = 0.0
            w = rng.standard_normal(n)
            for _ in range(2):
                w -= Q[:j + 1].T @ (Q[:j + 1] @ w)
            Q[j + 1] = w / np.linalg.norm(w)
        else:
            Q[j + 1] = w / beta[j]
        if want is not None and (j + 1) % 5 == 0:
            theta, S = _tridiag_eigh(alpha[:j + 1], beta[:j])
            if want(theta, np.abs(beta[j] * S[-1]), scale):
                m = j + 1
                break
    return alpha[:m], beta[:m - 1], Q[:m].T


def _tridiag_eigh(alpha, beta):
    T = np.diag(alpha) + np.diag(beta, 1) + np.diag(beta, -1)
    return np.linalg.eigh(T)


def _select(theta, k, which):
    """Indices of the k wanted Ritz values among theta (ascending)."""
    m = len(theta)
    if which == "LA":
        idx = np.arange(m - k, m)
    elif which == "SA":
        idx = np.arange(k)
    elif which == "LM":
        idx = np.sort(np.argsort(-np.abs(theta), kind="stable")[:k])
    else:  # BE: half from each end, the extra one from the high end (as ARPACK)
        lo = k // 2
        idx = np.concatenate([np.arange(lo), np.arange(m - (k - lo), m)])
    return idx


def _ncv(n, k, ncv):
    """The Krylov basis size: scipy eigsh's default max(2k + 1, 20), at most n."""
    if ncv is None:
        return min(n, max(2 * k + 1, 20))
    if isinstance(ncv, bool) or not isinstance(ncv, (int, np.integer)) or not (
            k < ncv or ncv >= n):
        raise ValueError(f"hessian_eigs: ncv must be an integer with k < ncv (at most n is "
                         f"used); got ncv={ncv!r} for k={k}, n={n}")
    return min(int(ncv), n)


def thick_restart_lanczos(matvec, n, k, which="LA", ncv=None, tol=1e-10, max_products=None,
                          rng=None, bar=None):
    """k Ritz pairs of a symmetric operator by thick-restart Lanczos (Wu & Simon, 2000).

    The basis holds at most ncv + 1 vectors of length n (memory O(ncv n), never n x n): it is
    filled by Lanczos steps with full reorthogonalisation; when full, the Rayleigh-Ritz
    projection T = V^T H V (ncv x ncv) is diagonalised, the wanted Ritz vectors plus as many
    next-best ones (half the free room) are kept, the last Lanczos vector joins them, and the
    process continues from there. Stops when every wanted pair has residual
    |H y - theta y| = beta |s_last| <= tol ||H|| (||H|| estimated by the largest |theta| and
    the step sizes seen), or after max_products products. Returns (theta, Y, products,
    converged) with theta ascending and Y (n, k).
    """
    rng = np.random.default_rng(0) if rng is None else rng
    m = _ncv(n, k, ncv)
    max_products = max(10 * n, 100 * m) if max_products is None else int(max_products)
    V = np.empty((m + 1, n))
    T = np.zeros((m, m))
    q = rng.standard_normal(n)
    V[0] = q / np.linalg.norm(q)
    start, products, scale = 0, 0, 0.0

    def ritz(size, beta):
        """Ritz values, vectors (in the basis), wanted indices, and whether they converged."""
        theta, S = np.linalg.eigh(T[:size, :size])
        residual = np.abs(beta * S[-1]) if size < n else np.zeros(size)
        want = _select(theta, min(k, size), which)
        top = max(scale, float(np.abs(theta).max()))
        return theta, S, want, bool(np.all(residual[want] <= tol * top)), residual[want] / top

    while True:
        for j in range(start, m):
            w = matvec(V[j])
            products += 1
            h = V[:j + 1] @ w
            w -= V[:j + 1].T @ h
            h2 = V[:j + 1] @ w  # a second pass ("twice is enough", Kahan-Parlett)
            w -= V[:j + 1].T @ h2
            h += h2
            # T is tridiagonal plus, after a restart, the arrow coupling the kept Ritz vectors
            # to the first new vector; the other projections are rounding (or the noise of a
            # float32 H) and stay out of T, as in plain Lanczos
            T[j, j] = h[j]
            if j == start and start > 0:
                T[:j, j] = T[j, :j] = h[:j]
            beta = float(np.linalg.norm(w))
            scale = max(scale, abs(h[j]) + beta)
            if beta <= 1e-10 * max(scale, 1e-300):
                # an invariant subspace: go on from a fresh direction (T decouples here)
                beta = 0.0
                w = rng.standard_normal(n)
                for _ in range(2):
                    w -= V[:j + 1].T @ (V[:j + 1] @ w)
                V[j + 1] = w / np.linalg.norm(w)
            else:
                V[j + 1] = w / beta
            if j + 1 < m:
                T[j + 1, j] = T[j, j + 1] = beta
            size = j + 1
            if bar is not None:
                bar.update(1)
            last = size == m or size == n or products >= max_products
            if last or (size >= k + 2 and size % 5 == 0):  # cheap: T is at most ncv x ncv
                theta, S, want, converged, residual = ritz(size, beta)
                if bar is not None:
                    bar.set_postfix_str(f"residual {residual.max():.1e}", refresh=False)
                if converged or size == n or products >= max_products:
                    return theta[want], V[:size].T @ S[:, want], products, converged
                if last:
                    break
        # thick restart: the kept Ritz vectors, then the residual direction V[m]
        keep = _select(theta, min(m - 1, k + (m - k) // 2), which)
        V[:len(keep)] = S[:, keep].T @ V[:m]
        V[len(keep)] = V[m]
        T[:] = 0.0
        T[np.arange(len(keep)), np.arange(len(keep))] = theta[keep]
        start = len(keep)


def hessian_eigs(loss_fn, params, k=6, which="LA", tol=1e-10, max_steps=None, seed=0,
                 return_eigenvectors=False, ncv=None, progress=None):
    """k eigenvalues of the Hessian of loss_fn() w.r.t. params: Lanczos on Hessian-vector products.

    ``which`` as scipy's eigsh: 'LA' largest, 'SA' smallest (most negative), 'LM' largest
    magnitude, 'BE' both ends. Eigenvalues come back ascending; eigenvectors (n, k) are flat, in
    the order of params. Thick-restart Lanczos with a basis of ``ncv`` vectors (eigsh's
    default max(2k + 1, 20)), so memory is O(ncv n) for n parameters. Stops when each wanted
    Ritz value has residual ||H y - theta y|| <= tol * ||H||, or after ``max_steps``
    Hessian-vector products (default max(10 n, 100 ncv)), with a RuntimeWarning if not
    converged. Use float64 parameters for more than ~7 digits. Single-vector Lanczos finds
    each distinct eigenvalue once: exact repeats are resolved only by restarts. progress:
    a tqdm bar of the products (None: only on a terminal, True: always, False: never).

        >>> import chainrule as cr
        >>> w = cr.tensor([1.0, 2.0]).double().requires_grad_()
        >>> hessian_eigs(lambda: (w * w * cr.tensor([1.0, 3.0]).double()).sum(), [w], k=2)
        array([2., 6.])
    """
    _require_host("hessian_eigs", params)
    if which not in _WHICH:
        raise ValueError(f"hessian_eigs: which must be one of {_WHICH}; got {which!r}")
    H = HessianOperator(loss_fn, params, "hessian_eigs")
    if not isinstance(k, (int, np.integer)) or not 1 <= k <= H.n:
        raise ValueError(f"hessian_eigs: k must be an integer in [1, n = {H.n}]; got {k!r}")
    if max_steps is not None and (not isinstance(max_steps, (int, np.integer)) or
                                  max_steps < 1):
        raise ValueError(f"hessian_eigs: max_steps must be a positive integer; got "
                         f"{max_steps!r}")
    m = _ncv(H.n, k, ncv)
    budget = max(10 * H.n, 100 * m) if max_steps is None else int(max_steps)
    bar = progress_bar(budget, "hessian_eigs", progress, unit="hvp")
    try:
        values, vectors, _, converged = thick_restart_lanczos(
            H.matvec, H.n, k, which, m, tol, budget, np.random.default_rng(seed), bar)
    finally:
        bar.close()
    if not converged and max_steps is None:
        warnings.warn(f"hessian_eigs: the {k} wanted eigenvalues did not converge to "
                      f"tol={tol:g} in {budget} Hessian-vector products; raise max_steps or "
                      "ncv", RuntimeWarning, stacklevel=2)
    if return_eigenvectors:
        return values, vectors
    return values


def hessian_trace(loss_fn, params, num_probes=100, method="hutch++", seed=0, progress=None):
    """tr(H) from `num_probes` Hessian-vector products with Rademacher vectors v (+-1 entries).

    ``method='hutchinson'``: tr(H) ~ mean of v^T H v, unbiased with variance
    2 sum_{i != j} H_ij^2 / num_probes. ``'hutch++'`` (default; Meyer, Musco, Musco & Persson,
    2021) spends a third of the products on a sketch Q of H's dominant range, takes tr(Q^T H Q)
    exactly and applies Hutchinson only to the deflated rest (I - QQ^T) H (I - QQ^T): when a few
    large eigenvalues carry the trace, as near a minimum, the error drops by orders of magnitude.
    progress: a tqdm bar of the num_probes products (None: only on a terminal, True, False).
    """
    if not isinstance(num_probes, (int, np.integer)) or num_probes < 1:
        raise ValueError(f"hessian_trace: num_probes must be a positive integer; got "
                         f"{num_probes!r}")
    if method not in ("hutchinson", "hutch++"):
        raise ValueError(f"hessian_trace: method must be 'hutchinson' or 'hutch++'; got "
                         f"{method!r}")
    H = HessianOperator(loss_fn, params, "hessian_trace")
    rng = np.random.default_rng(seed)
    k = num_probes // 3 if method == "hutch++" else 0
    bar = progress_bar(num_probes, "hessian_trace", progress, unit="hvp")

    def matvec(v):
        out = H.matvec(v)
        bar.update(1)
        return out

    try:
        exact = 0.0
        Q = np.zeros((H.n, 0))
        if k:
            S = rng.choice([-1.0, 1.0], size=(H.n, k))
            Q, _ = np.linalg.qr(np.stack([matvec(s) for s in S.T], axis=1))
            exact = sum(q @ matvec(q) for q in Q.T)
        r = num_probes - 2 * k
        total = 0.0
        for _ in range(r):
            v = rng.choice([-1.0, 1.0], size=H.n)
            v -= Q @ (Q.T @ v)
            total += v @ matvec(v)
    finally:
        bar.close()
    return float(exact + total / r)


@dataclass
class HessianDensity:
    """Spectral density of H by stochastic Lanczos quadrature: density(t) on grid, integral 1."""

    grid: np.ndarray
    density: np.ndarray
    nodes: np.ndarray  # (num_probes, steps): Ritz values of each probe's Lanczos run
    weights: np.ndarray  # (num_probes, steps): squared first components, each row sums to 1
    sigma: float

    def _repr_html_(self):  # rich display in Jupyter: chainrule.inspect._repr
        from chainrule.inspect import _repr as reprs

        return reprs.density_html(self)


def hessian_density(loss_fn, params, num_probes=4, steps=60, grid_size=500, sigma=None, seed=0,
                    progress=None):
    """Stochastic Lanczos quadrature: phi(t) = mean_v sum_i w_i N(t; theta_i, sigma^2).

    Each probe v runs `steps` Lanczos steps from v; the Ritz values theta_i with weights
    w_i = (first component of the i-th Ritz vector)^2 are a Gauss quadrature of the spectral
    measure (Ghorbani, Krishnan & Xiao, 2019). sigma defaults to 1% of the spectrum's width.
    progress: a tqdm bar of the num_probes * steps products (None: only on a terminal).
    """
    H = HessianOperator(loss_fn, params, "hessian_density")
    rng = np.random.default_rng(seed)
    steps = min(int(steps), H.n)
    nodes = np.zeros((num_probes, steps))
    weights = np.zeros((num_probes, steps))
    bar = progress_bar(num_probes * steps, "hessian_density", progress, unit="hvp")

    def matvec(v):
        out = H.matvec(v)
        bar.update(1)
        return out

    try:
        for r in range(num_probes):
            alpha, beta, _ = lanczos(matvec, H.n, steps, v0=rng.standard_normal(H.n), rng=rng)
            theta, S = _tridiag_eigh(alpha, beta)
            nodes[r, :len(theta)], weights[r, :len(theta)] = theta, S[0] ** 2
    finally:
        bar.close()
    lo, hi = nodes.min(), nodes.max()
    width = max(hi - lo, 1e-12 * max(abs(hi), 1.0))
    sigma = 0.01 * width if sigma is None else float(sigma)
    grid = np.linspace(lo - 3 * sigma - 0.05 * width, hi + 3 * sigma + 0.05 * width, grid_size)
    z = (grid[None, None, :] - nodes[:, :, None]) / sigma
    density = (weights[:, :, None] * np.exp(-z * z / 2)).sum(axis=(0, 1))
    density /= num_probes * sigma * np.sqrt(2 * np.pi)
    return HessianDensity(grid, density, nodes, weights, sigma)


@dataclass
class Sharpness:
    """lambda_max(H) beside 2/lr: GD on the local quadratic is stable iff lr < 2 / lambda_max."""

    lambda_max: float
    max_stable_lr: float  # 2 / lambda_max
    lr: float | None = None
    bound: float | None = None  # 2 / lr
    stable: bool | None = None

    def _repr_html_(self):  # rich display in Jupyter: chainrule.inspect._repr
        from chainrule.inspect import _repr as reprs

        return reprs.record_html(self, "Sharpness")


def sharpness(loss_fn, params, lr=None, seed=0):
    """The largest Hessian eigenvalue and the GD stability bound: w <- w - lr g diverges along
    the top eigenvector when |1 - lr lambda_max| > 1, i.e. when lambda_max > 2/lr."""
    (lam,) = hessian_eigs(loss_fn, params, k=1, which="LA", seed=seed)
    lam = float(lam)
    max_lr = 2 / lam if lam > 0 else float("inf")
    if lr is None:
        return Sharpness(lam, max_lr)
    return Sharpness(lam, max_lr, float(lr), 2 / float(lr), bool(lam < 2 / float(lr)))


@dataclass
class CriticalPoint:
    """The second-derivative test at x: kind from the signs of the Hessian's eigenvalues."""

    kind: str  # 'minimum' | 'maximum' | 'saddle' | 'degenerate' | 'not critical'
    eigenvalues: np.ndarray
    gradient_norm: float
    index: int  # the number of negative eigenvalues (directions of descent)

    def _repr_html_(self):  # rich display in Jupyter: chainrule.inspect._repr
        from chainrule.inspect import _repr as reprs

        return reprs.record_html(self, "CriticalPoint")


def critical_point(f, x, tol=1e-8, gtol=1e-6):
    """Classify x for scalar f: minimum (all lambda > 0), maximum (all < 0), saddle (both signs),
    degenerate (some |lambda| <= tol ||H||, test inconclusive), or 'not critical' (||grad|| > gtol).

    Forms the Hessian explicitly (cr.hessian), so it is meant for small x; for a model's
    parameters use hessian_eigs.

        >>> import chainrule as cr
        >>> critical_point(lambda v: v[0] ** 2 - v[1] ** 2, cr.tensor([0.0, 0.0])).kind
        'saddle'
    """
    from chainrule.core.transforms import grad as _grad_fn
    from chainrule.core.transforms import hessian

    xv = x.detach() if isinstance(x, Tensor) else from_array(np.asarray(x))
    if xv.dtype.kind not in "fc":
        xv = from_array(xv.numpy().astype(_mode.state.default_dtype))
    g = np.asarray(_grad_fn(f)(xv).numpy(), dtype=np.float64).reshape(-1)
    Hm = np.asarray(hessian(f)(xv).numpy(), dtype=np.float64).reshape(xv.size, xv.size)
    lam = np.linalg.eigvalsh((Hm + Hm.T) / 2)
    gnorm = float(np.linalg.norm(g))
    thresh = tol * max(1.0, float(np.abs(lam).max(initial=0.0)))
    pos, neg = int((lam > thresh).sum()), int((lam < -thresh).sum())
    if gnorm > gtol:
        kind = "not critical"
    elif pos and neg:
        kind = "saddle"
    elif pos == lam.size:
        kind = "minimum"
    elif neg == lam.size:
        kind = "maximum"
    else:
        kind = "degenerate"
    return CriticalPoint(kind, lam, gnorm, neg)
