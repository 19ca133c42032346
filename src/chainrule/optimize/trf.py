"""Trust-region reflective least squares: minimize 1/2 |r(x)|^2 subject to lb <= x <= ub.

Branch, Coleman & Li (1999), the method behind scipy.optimize.least_squares(method='trf'). The
iterates stay strictly inside the box. Coleman-Li scaling v (the distance to the bound that the
negative gradient points at, 1 where there is none) turns the bounded problem into the
unconstrained-looking first-order condition v * g = 0; in the variables x = x_k + D h with
D = diag(sqrt(v)) the model is
    m(h) = 1/2 |J D h|^2 + (D g)^T h + 1/2 h^T C h,   C = diag(g * dv)  (dv = dv/dx, >= 0 terms),
minimized exactly in the ball |h| <= Delta (SVD and Newton on the secular equation). A step
that leaves the box is cut at the first bound and the best of three is taken: that cut step
pulled back by theta, the reflection off the bound, and the scaled gradient step. Without
bounds this is a plain trust-region Gauss-Newton (v = 1, C = 0).
"""

import numpy as np

from chainrule.optimize.bounds import step_to_bound


def solve_trust_region(A, b, delta):
    """argmin |A p + b| subject to |p| <= delta, exactly: p(mu) = -(A^T A + mu I)^-1 A^T b.

    mu = 0 when the (minimum-norm) Gauss-Newton step fits; otherwise the mu > 0 with
    |p(mu)| = delta, by Newton's method on 1/|p(mu)| - 1/delta (nearly linear in mu, Hebden),
    kept inside a shrinking bracket.
    """
    U, s, Vt = np.linalg.svd(A, full_matrices=False)
    c = U.T @ b
    keep = s > np.finfo(float).eps * max(A.shape) * (s[0] if s.size else 0.0)
    if not np.any(keep):
        return np.zeros(A.shape[1])

    def p_of(mu):
        return -Vt.T @ np.where(keep, s * c / (s * s + mu), 0.0)

    p0 = p_of(0.0)
    if np.linalg.norm(p0) <= delta:
        return p0
    sk, ck = s[keep], c[keep]
    lo, hi = 0.0, float(np.linalg.norm(sk * ck)) / delta  # |p(hi)| <= |A^T b| / hi = delta
    mu = 0.0 if np.all(keep) else 1e-3 * hi
    for _ in range(50):
        w = sk * ck / (sk * sk + mu)
        norm = float(np.linalg.norm(w))
        if abs(norm - delta) <= 1e-10 * delta:
            break
        if norm > delta:
            lo = mu
        else:
            hi = mu
        dnorm = -float(np.sum(w * w / (sk * sk + mu))) / norm  # d|p|/dmu
        # Newton on 1/|p| - 1/delta: mu += (|p| - delta) / delta * |p| / -d|p|/dmu
        mu_next = mu + (norm - delta) / delta * norm / -dnorm
        mu = mu_next if lo < mu_next < hi else 0.5 * (lo + hi)
    return p_of(mu)


def _coleman_li(x, g, lb, ub):
    """Scaling v (distance to the bound -g points toward, else 1) and its derivative dv."""
    v, dv = np.ones_like(x), np.zeros_like(x)
    up = (g < 0) & np.isfinite(ub)
    down = (g > 0) & np.isfinite(lb)
    v[up], dv[up] = ub[up] - x[up], -1.0
    v[down], dv[down] = x[down] - lb[down], 1.0
    return v, dv


def strictly_inside(x, lb, ub, rstep=1e-10):
    """x with every coordinate on (or past) a bound moved just inside the box."""
    x = np.clip(x, lb, ub)
    finite = np.isfinite(lb) & np.isfinite(ub)
    lbf, ubf = np.where(np.isfinite(lb), lb, 0.0), np.where(np.isfinite(ub), ub, 0.0)
    if rstep == 0:
        lo, hi = np.nextafter(lbf, np.inf), np.nextafter(ubf, -np.inf)
    else:
        lo = lbf + rstep * np.maximum(1.0, np.abs(lbf))
        hi = ubf - rstep * np.maximum(1.0, np.abs(ubf))
    x = np.where(x <= lb, lo, np.where(x >= ub, hi, x))
    thin = finite & (lo > hi)  # a box too thin for the step: its midpoint
    return np.where(thin, 0.5 * (lbf + ubf), x)


class _Model:
    """m(h) = 1/2 |J_h h|^2 + g_h^T h + 1/2 h^T diag(c) h, and its minimum along a segment."""

    def __init__(self, J_h, g_h, c):
        self.J_h, self.g_h, self.c = J_h, g_h, c

    def __call__(self, h):
        Jh = self.J_h @ h
        return 0.5 * float(Jh @ Jh) + float(self.g_h @ h) + 0.5 * float(h @ (self.c * h))

    def line_min(self, h0, u, lo, hi):
        """(t, m(h0 + t u)) minimizing the quadratic in t over [lo, hi]."""
        Ju, Jh0 = self.J_h @ u, self.J_h @ h0
        a = 0.5 * (float(Ju @ Ju) + float(u @ (self.c * u)))
        b = float(Jh0 @ Ju) + float(self.g_h @ u) + float(h0 @ (self.c * u))
        ts = [lo, hi]
        if a > 0 and lo < -b / (2 * a) < hi:
            ts.append(-b / (2 * a))
        m0 = self(h0)
        values = [m0 + a * t * t + b * t for t in ts]
        i = int(np.argmin(values))
        return ts[i], values[i]


def _boundary_crossing(h, u, delta):
    """The t >= 0 with |h + t u| = delta (h inside the ball)."""
    a, b, c = float(u @ u), float(h @ u), float(h @ h) - delta * delta
    if a == 0:
        return np.inf
    return (-b + np.sqrt(max(b * b - a * c, 0.0))) / a


def select_step(x, model, p_h, d, delta, lb, ub, theta):
    """The step (in x and in scaled h) and its model value: the trust-region step if it stays
    in the box, else the best of the cut-back step, its reflection and the gradient step."""
    p = d * p_h
    if np.all(x + p >= lb) and np.all(x + p <= ub):
        return p, p_h, model(p_h)
    t, hits = step_to_bound(x, p, lb, ub)
    candidates = []
    # reflect off the bound(s) first hit, from the point where p meets them
    h_b = t * p_h
    r_h = np.where(hits != 0, -p_h, p_h)
    to_bound, _ = step_to_bound(x + d * h_b, d * r_h, lb, ub)
    to_tr = _boundary_crossing(h_b, r_h, delta)
    reach = min(to_bound, to_tr)
    if np.isfinite(reach) and reach > 0:
        lo = (1 - theta) * reach  # leave the bound, do not sit on it
        hi = theta * to_bound if to_bound <= to_tr else to_tr
        if lo <= hi:
            s, value = model.line_min(h_b, r_h, lo, hi)
            candidates.append((value, h_b + s * r_h))
    # the trust-region step cut at the bound, pulled back into the interior
    candidates.append((model(theta * h_b), theta * h_b))
    # the scaled steepest-descent step, minimized over the part of its ray inside both regions
    gn = float(np.linalg.norm(model.g_h))
    if gn > 0:
        u = -model.g_h
        to_tr = delta / gn
        to_bound, _ = step_to_bound(x, d * u, lb, ub)
        hi = theta * to_bound if to_bound < to_tr else to_tr
        s, value = model.line_min(np.zeros_like(u), u, 0.0, hi)
        candidates.append((value, s * u))
    value, h = min(candidates, key=lambda vh: vh[0])
    return d * h, h, value


def trf(residuals, x0, lb, ub, ftol, xtol, gtol, max_nfev, callback=None):
    """Run TRF from x0 (moved strictly inside the box). Returns (x, r, J, g, cost, optimality,
    nit, status) with scipy's status codes (0 max_nfev, 1 gtol, 2 ftol, 3 xtol, 4 both)."""
    x = strictly_inside(x0, lb, ub)
    r = residuals.value(x)
    J = residuals.jacobian(x)
    cost = 0.5 * float(r @ r)
    g = J.T @ r
    v, dv = _coleman_li(x, g, lb, ub)
    delta = float(np.linalg.norm(x / np.sqrt(v))) or 1.0
    nit, status = 0, None
    n = x.size
    while True:
        v, dv = _coleman_li(x, g, lb, ub)
        optimality = float(np.linalg.norm(g * v, ord=np.inf))
        if optimality < gtol:
            status = 1
        if status is not None or residuals.nfev >= max_nfev:
            break
        d = np.sqrt(v)
        c = g * dv  # >= 0: the curvature the scaling adds
        J_h = J * d
        model = _Model(J_h, d * g, c)
        A = np.vstack([J_h, np.diag(np.sqrt(c))])
        b = np.concatenate([r, np.zeros(n)])
        theta = max(0.995, 1.0 - optimality)  # step back from the bound, less near the end
        actual = -1.0
        while actual <= 0 and residuals.nfev < max_nfev:
            p_h = solve_trust_region(A, b, delta)
            step, step_h, value = select_step(x, model, p_h, d, delta, lb, ub, theta)
            x_new = strictly_inside(x + step, lb, ub, rstep=0)
            r_new = residuals.value(x_new)
            h_norm = float(np.linalg.norm(step_h))
            cost_new = 0.5 * float(r_new @ r_new)
            if not np.isfinite(cost_new):
                delta = 0.25 * h_norm
                continue
            actual, predicted = cost - cost_new, -value
            ratio = actual / predicted if predicted > 0 else (1.0 if actual == predicted else 0.0)
            if ratio < 0.25:
                delta = 0.25 * h_norm
            elif ratio > 0.75 and h_norm > 0.95 * delta:
                delta *= 2.0
            small_f = actual < ftol * cost and ratio > 0.25
            small_x = float(np.linalg.norm(x_new - x)) < xtol * (xtol + float(np.linalg.norm(x)))
            if small_f or small_x:
                status = 4 if small_f and small_x else (2 if small_f else 3)
                break
        if actual > 0:
            x, r, cost = x_new, r_new, cost_new
            J = residuals.jacobian(x)
            g = J.T @ r
            nit += 1
            if callback is not None and callback(x.copy()):
                status = status if status is not None else -2
                break
    if status is None:
        status = 0
    v, _ = _coleman_li(x, g, lb, ub)
    return x, r, J, g, cost, float(np.linalg.norm(g * v, ord=np.inf)), nit, status
