"""Acceptance 1: gd and momentum converge at the rates theory predicts on a quadratic.

f(x) = 1/2 x^T A x - b^T x with the eigenvalues of A log-spaced in [m, L] = [1, kappa].
    gd, lr = 2/(L + m):             |e_{k+1}| <= (kappa - 1)/(kappa + 1) |e_k|   every step
    heavy ball, lr = 4/(sqrt L + sqrt m)^2, momentum = rho^2:
                                    |e_k| <= (k + 1) rho^k |e_0|   (a 2x2 Jordan block per mode)
with rho = (sqrt kappa - 1)/(sqrt kappa + 1).
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule.optimize.problems import quadratic


def _errors(problem, method, steps, **options):
    res = cr.optimize.minimize(problem.fun, problem.x0, method=method, tol=0.0, maxiter=steps,
                               options={"record_path": True, **options})
    e = np.linalg.norm(res.path - problem.xstar[0], axis=1)
    return e[e > 1e-11 * e[0]]  # stop where rounding takes over


@pytest.mark.parametrize("kappa", [10.0, 100.0, 1000.0])
def test_gd_contracts_by_the_optimal_rate_every_step(kappa):
    p = quadratic(20, kappa, seed=1)
    rate = (kappa - 1) / (kappa + 1)
    e = _errors(p, "gd", 300, lr=2.0 / (kappa + 1.0))
    ratios = e[1:] / e[:-1]
    assert ratios.max() <= rate * (1 + 1e-9)
    # and the bound is tight: the slowest mode decays at exactly that rate
    assert ratios[-20:].mean() == pytest.approx(rate, rel=1e-3)


@pytest.mark.parametrize("kappa", [10.0, 100.0, 1000.0])
def test_heavy_ball_converges_at_the_accelerated_rate(kappa):
    p = quadratic(20, kappa, seed=1)
    s = np.sqrt(kappa)
    rho = (s - 1) / (s + 1)
    e = _errors(p, "momentum", 300, lr=4.0 / (s + 1.0) ** 2, momentum=rho ** 2)
    k = np.arange(len(e))
    assert np.all(e <= (k + 1) * rho ** k * e[0] * (1 + 1e-9))
    # much faster than the best gd: after 60 steps, gd has barely started for kappa = 1000
    gd = _errors(p, "gd", 60, lr=2.0 / (kappa + 1.0))
    if len(e) > 60 and len(gd) > 60:
        assert e[60] < gd[60]


def test_nesterov_beats_gd_on_ill_conditioned_quadratic():
    p = quadratic(10, 100.0, seed=1)
    gd = cr.optimize.minimize(p.fun, p.x0, method="gd", tol=1e-6, maxiter=20000,
                              options={"lr": 1.0 / 100.0})
    nag = cr.optimize.minimize(p.fun, p.x0, method="nesterov", tol=1e-6, maxiter=20000,
                               options={"lr": 1.0 / 100.0, "momentum": 0.9})
    assert gd.success and nag.success
    assert nag.nit < gd.nit / 3
