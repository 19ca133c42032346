"""Acceptance 3: least_squares (lm, gauss-newton) against scipy, and LM vs Adam on a network."""

import numpy as np
import pytest

import chainrule as cr

so = pytest.importorskip("scipy.optimize")

RNG = np.random.default_rng(0)
T = np.linspace(0.0, 4.0, 50)
Y = 2.5 * np.exp(-1.3 * T) + 0.5 + 0.05 * RNG.standard_normal(T.size)


def model(p):
    return p[0] * cr.exp(-p[1] * T) + p[2] - Y


@pytest.mark.parametrize("method", ["lm", "gauss-newton"])
def test_exponential_fit_matches_scipy_lm(method):
    ours = cr.optimize.least_squares(model, [1.0, 1.0, 0.0], method=method)
    ref = so.least_squares(lambda p: p[0] * np.exp(-p[1] * T) + p[2] - Y, [1.0, 1.0, 0.0],
                           method="lm")
    assert ours.success and ref.success
    np.testing.assert_allclose(ours.x, ref.x, atol=1e-6)
    assert ours.cost == pytest.approx(ref.cost, rel=1e-9)
    np.testing.assert_allclose(ours.fun, ref.fun, atol=1e-6)
    np.testing.assert_allclose(ours.jac, ref.jac, atol=1e-5)  # scipy's J is finite-difference
    np.testing.assert_allclose(ours.grad, ours.jac.T @ ours.fun)
    assert ours.nfev <= 1.5 * ref.nfev


def test_jacobian_is_exact_autodiff_both_modes():
    from chainrule.optimize.least_squares import Residuals

    x = np.array([2.0, 1.5, 0.3])
    exact = np.stack([np.exp(-x[1] * T), -x[0] * T * np.exp(-x[1] * T), np.ones_like(T)], 1)
    tall = Residuals(model, x).jacobian(x)  # m > n: forward columns (n jvps)
    np.testing.assert_allclose(tall, exact, rtol=1e-13, atol=1e-13)
    wide = Residuals(lambda p: model(p)[:2], x).jacobian(x)  # m < n: reverse rows (m vjps)
    np.testing.assert_allclose(wide, exact[:2], rtol=1e-13, atol=1e-13)


def test_lm_on_rosenbrock_residuals_and_result_fields():
    res = cr.optimize.least_squares(lambda p: cr.stack([10 * (p[1] - p[0] ** 2), 1 - p[0]]),
                                    [-1.2, 1.0])
    np.testing.assert_allclose(res.x, [1.0, 1.0], atol=1e-8)
    for key in ("x", "cost", "fun", "jac", "grad", "optimality", "nfev", "njev", "nit",
                "status", "message", "success"):
        assert key in res
    assert res.status in (1, 2, 3, 4) and "termination condition" in res.message


def test_max_nfev_is_reported():
    res = cr.optimize.least_squares(model, [1.0, 1.0, 0.0], max_nfev=2)
    assert not res.success and res.status == 0 and "max_nfev=2" in res.message


def test_lm_trains_a_network_below_adam_with_the_same_evaluations():
    # seed 001: "Levenberg-Marquardt [is] effective for specific types of problems"; the
    # examples/05_second_order.py script shows the full-size version with a plot
    nn = pytest.importorskip("chainrule.nn")
    optim = pytest.importorskip("chainrule.optim")
    cr.manual_seed(0)
    net = nn.Sequential(nn.Linear(1, 8), nn.Tanh(), nn.Linear(8, 1)).double()
    x = np.linspace(-3, 3, 40)[:, None]
    X, Y_ = cr.tensor(x), cr.tensor(np.sin(x))
    theta0 = nn.utils.parameters_to_vector(net.parameters()).detach()
    res = cr.optimize.least_squares_module(net, lambda: (net(X) - Y_).reshape(-1),
                                           max_nfev=60)
    lm_loss = float(((net(X) - Y_) ** 2).mean().item())
    assert lm_loss == pytest.approx(2 * res.cost / 40)
    nn.utils.vector_to_parameters(theta0, net.parameters())
    opt = optim.Adam(net.parameters(), lr=0.01)
    for _ in range(res.nfev + res.njev):  # one Adam step = one f-and-gradient evaluation
        opt.zero_grad()
        loss = ((net(X) - Y_) ** 2).mean()
        loss.backward()
        opt.step()
    adam_loss = float(((net(X) - Y_) ** 2).mean().item())
    assert lm_loss < adam_loss / 10
