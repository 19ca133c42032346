"""Acceptance 4: behaviour near saddle points (seeds 000 and 002).

On f(x, y) = x^2 - y^2 and on a tiny network whose loss has a strict saddle at the origin:
plain gd lingers, momentum escapes, undamped Newton is drawn to the saddle, and the
saddle-free Newton step (|eigenvalues|) escapes.
"""

import numpy as np
import pytest

import chainrule as cr

minimize = cr.optimize.minimize


def saddle(z):
    return z[0] ** 2 - z[1] ** 2


X0 = np.array([0.5, 1e-3])  # close to the saddle's stable manifold y = 0


def _path(method, steps, **options):
    return minimize(saddle, X0, method=method, tol=0.0, maxiter=steps,
                    options={"record_path": True, **options})


def _first_escape(path, radius=1.0):
    far = np.abs(path[:, 1]) > radius
    return int(np.argmax(far)) if far.any() else None


def test_gd_lingers_and_momentum_escapes_quadratic_saddle():
    gd = _path("gd", 25, lr=0.1).path
    heavy = _path("momentum", 25, lr=0.1, momentum=0.9).path
    # gd: x shrinks by 0.8 a step, y grows by only 1.2; after 20 steps it still sits at the
    # saddle (|grad| ~ 0.1), where f ~ 0
    assert np.abs(gd[20]).max() < 0.05
    assert _first_escape(gd) is None
    # momentum amplifies the unstable direction ~1.5x a step and leaves
    assert _first_escape(heavy) is not None and _first_escape(heavy) <= 20
    assert saddle(heavy[-1]) < -1.0


def test_undamped_newton_is_drawn_to_the_saddle():
    res = _path("newton", 5, modification="none", linesearch=False)
    # the Taylor model is exact here, and its stationary point is the saddle: one step there
    assert res.nit == 1 and res.success
    np.testing.assert_allclose(res.x, [0.0, 0.0], atol=1e-15)
    assert "saddle point, not a minimum" in res.message and "-2" in res.message


def test_saddle_free_newton_escapes_quadratic_saddle():
    res = _path("newton", 12, modification="saddle-free", linesearch=False)
    y = res.path[:, 1]
    # |H| = 2I: the x part is solved in one step and y doubles every step, away from the saddle
    np.testing.assert_allclose(res.path[1:, 0], 0.0, atol=1e-15)
    np.testing.assert_allclose(y[1:] / y[:-1], 2.0)
    assert _first_escape(res.path) == 10


def test_damped_newton_steps_away_from_the_saddle():
    # H + tau I with tau just above 2 keeps the y direction's step long (not toward the saddle)
    res = _path("newton", 3, modification="damped", linesearch=False)
    assert np.all(np.diff(np.abs(res.path[:, 1])) > 0)
    assert saddle(res.x) < -1.0
    # with a line search the step is taken too, but x^2 - y^2 is unbounded below along it, so
    # no step meets the strong Wolfe curvature condition: the search reports failure
    res = _path("newton", 3, modification="damped")
    assert res.status == 2 and "line search" in res.message


# ---- a small network: y = w2 tanh(w1 x) fitted to tanh(x) ---------------------------------
XS = np.linspace(-2.0, 2.0, 21)
TS = np.tanh(XS)


def net_loss(w):
    return ((w[1] * cr.tanh(w[0] * XS) - TS) ** 2).mean()


W0 = np.array([0.2, -0.2]) + 1e-6  # near the stable direction (1, -1) of the saddle at 0
SADDLE_LOSS = float(np.mean(TS ** 2))


def test_network_origin_is_a_strict_saddle():
    g = cr.grad(net_loss)(np.zeros(2)).numpy()
    H = cr.hessian(net_loss)(np.zeros(2)).numpy()
    np.testing.assert_array_equal(g, 0.0)
    c = np.mean(XS * TS)
    np.testing.assert_allclose(H, [[0.0, -2 * c], [-2 * c, 0.0]], atol=1e-12)
    np.testing.assert_allclose(np.linalg.eigvalsh(H), [-2 * c, 2 * c], atol=1e-12)


def _plateau(res):
    losses = np.array([float(net_loss(cr.tensor(w))) for w in res.path])
    return int((losses > 0.9 * SADDLE_LOSS).sum())


def test_network_gd_lingers_momentum_escapes():
    gd = minimize(net_loss, W0, method="gd", maxiter=300,
                  options={"lr": 0.05, "record_path": True})
    heavy = minimize(net_loss, W0, method="momentum", maxiter=300,
                     options={"lr": 0.05, "momentum": 0.9, "record_path": True})
    assert _plateau(gd) >= 2.5 * _plateau(heavy)
    assert heavy.fun < 1e-6 and heavy.fun < gd.fun


@pytest.mark.parametrize("modification", ["saddle-free", "damped"])
def test_network_newton_variants(modification):
    pure = minimize(net_loss, W0, method="newton",
                    options={"modification": "none", "linesearch": False})
    np.testing.assert_allclose(pure.x, [0.0, 0.0], atol=1e-10)
    assert pure.fun == pytest.approx(SADDLE_LOSS) and "saddle point" in pure.message
    fixed = minimize(net_loss, W0, method="newton", tol=1e-8,
                     options={"modification": modification})
    assert fixed.success and fixed.fun < 1e-10
    np.testing.assert_allclose(np.abs(fixed.x), [1.0, 1.0], atol=1e-4)
