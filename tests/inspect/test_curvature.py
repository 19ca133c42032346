"""Curvature: Lanczos eigenvalues vs eigvalsh, Hutchinson trace, SLQ density, critical points."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.inspect import (
    HessianOperator,
    critical_point,
    hessian_density,
    hessian_eigs,
    hessian_trace,
    lanczos,
    sharpness,
)
from tests.inspect.helpers import small_problem


@pytest.fixture(scope="module")
def problem():
    model, loss_fn, _ = small_problem(seed=0)
    H = HessianOperator(loss_fn, model.parameters()).dense()
    return model, loss_fn, np.linalg.eigvalsh(H)


def test_explicit_hessian_agrees_with_cr_hessian():
    w = cr.tensor([0.3, -0.7, 1.1], dtype=np.float64, requires_grad=True)
    f = lambda v: (cr.tanh(v) * v).sum() + (v[0] * v[1] * v[2])
    H = HessianOperator(lambda: f(w), [w]).dense()
    np.testing.assert_allclose(H, cr.hessian(f)(w.detach()).numpy(), rtol=1e-12, atol=1e-14)


def test_hessian_eigs_match_eigvalsh_top_and_bottom_five(problem):
    model, loss_fn, exact = problem
    n = sum(p.size for p in model.parameters())
    assert n <= 500
    top = hessian_eigs(loss_fn, model.parameters(), k=5, which="LA")
    bottom = hessian_eigs(loss_fn, model.parameters(), k=5, which="SA")
    np.testing.assert_allclose(top, exact[-5:], rtol=1e-6)
    np.testing.assert_allclose(bottom, exact[:5], rtol=1e-6)
    assert bottom[0] < 0 < top[-1]  # a random point of a tanh MLP has negative curvature
    both = hessian_eigs(loss_fn, model.parameters(), k=4, which="BE")
    np.testing.assert_allclose(both, np.r_[exact[:2], exact[-2:]], rtol=1e-6)
    lm = hessian_eigs(loss_fn, model.parameters(), k=1, which="LM")
    np.testing.assert_allclose(np.abs(lm), np.abs(exact).max(), rtol=1e-6)


def test_eigenvectors_and_block_of_one_layer(problem):
    model, loss_fn, _ = problem
    block = list(model[2].parameters())  # the middle Linear: 16*16 + 16 parameters
    vals, vecs = hessian_eigs(loss_fn, block, k=3, return_eigenvectors=True)
    Hb = HessianOperator(loss_fn, block)
    assert vecs.shape == (272, 3)
    for lam, v in zip(vals, vecs.T):
        np.testing.assert_allclose(Hb.matvec(v), lam * v, atol=1e-8 * abs(vals).max())
    np.testing.assert_allclose(vals, np.linalg.eigvalsh(Hb.dense())[-3:], rtol=1e-6)


def test_lanczos_stops_early_for_extreme_eigenvalues(problem):
    model, loss_fn, exact = problem
    H = HessianOperator(loss_fn, model.parameters())
    hessian_eigs(loss_fn, model.parameters(), k=1, which="LA", tol=1e-6)
    alpha, beta, Q = lanczos(H.matvec, H.n, 40)
    np.testing.assert_allclose(Q.T @ Q, np.eye(40), atol=1e-10)  # full reorthogonalisation
    T = np.diag(alpha) + np.diag(beta, 1) + np.diag(beta, -1)
    np.testing.assert_allclose(np.linalg.eigvalsh(T)[-1], exact[-1], rtol=1e-8)


@pytest.mark.parametrize("seed", [0, 1])
def test_hessian_trace_within_five_percent(seed):
    model, loss_fn, _ = small_problem(seed=seed, train_steps=150)
    exact = np.trace(HessianOperator(loss_fn, model.parameters()).dense())
    est = hessian_trace(loss_fn, model.parameters(), num_probes=100, seed=seed)
    assert abs(est - exact) <= 0.05 * abs(exact)
    # plain Hutchinson is unbiased: its error is within 4 of its standard deviations
    H = HessianOperator(loss_fn, model.parameters()).dense()
    sd = np.sqrt(2 * (np.sum(H ** 2) - np.sum(np.diag(H) ** 2)) / 100)
    plain = hessian_trace(loss_fn, model.parameters(), 100, method="hutchinson", seed=seed)
    assert abs(plain - exact) <= 4 * sd


def test_hessian_density_is_normalised_and_matches_the_spectrum(problem):
    model, loss_fn, exact = problem
    d = hessian_density(loss_fn, model.parameters(), num_probes=4, steps=60)
    np.testing.assert_allclose(np.trapezoid(d.density, d.grid), 1.0, rtol=1e-3)
    np.testing.assert_allclose(d.weights.sum(axis=1), 1.0, rtol=1e-10)
    assert d.grid[0] <= exact[0] and exact[-1] <= d.grid[-1]
    # first moment: mean eigenvalue = tr(H)/n, estimated by the quadrature
    mean = (d.weights * d.nodes).sum(axis=1).mean()
    assert abs(mean - exact.mean()) < 0.1 * np.abs(exact).max()


def test_sharpness_predicts_gradient_descent_divergence():
    A = np.diag([10.0, 1.0, 0.1])
    w = cr.tensor([1.0, 1.0, 1.0], dtype=np.float64, requires_grad=True)
    loss_fn = lambda: 0.5 * (w * cr.tensor(A) @ w).sum()
    s = sharpness(loss_fn, [w], lr=0.19)
    assert s.lambda_max == pytest.approx(10.0) and s.max_stable_lr == pytest.approx(0.2)
    assert s.stable and s.bound == pytest.approx(2 / 0.19)
    assert not sharpness(loss_fn, [w], lr=0.21).stable
    for lr, grows in ((0.19, False), (0.21, True)):
        x = np.ones(3)
        for _ in range(200):
            x = x - lr * (A @ x)
        assert (np.linalg.norm(x) > 1) == grows


def test_critical_points():
    saddle = critical_point(lambda v: v[0] ** 2 - v[1] ** 2, cr.tensor([0.0, 0.0]))
    assert saddle.kind == "saddle" and saddle.index == 1
    np.testing.assert_allclose(saddle.eigenvalues, [-2.0, 2.0])
    assert critical_point(lambda v: v[0] ** 2 + v[1] ** 2, [0.0, 0.0]).kind == "minimum"
    assert critical_point(lambda v: -(v ** 2).sum(), [0.0, 0.0]).kind == "maximum"
    assert critical_point(lambda v: v[0] ** 2 + v[1] ** 4, [0.0, 0.0]).kind == "degenerate"
    moved = critical_point(lambda v: v[0] ** 2 + v[1] ** 2, [1.0, 0.0])
    assert moved.kind == "not critical" and moved.gradient_norm == pytest.approx(2.0)


def test_errors():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match="hessian_eigs: which must be one of"):
        hessian_eigs(lambda: (w * w).sum(), [w], which="XX")
    with pytest.raises(ValueError, match=r"hessian_eigs: k must be an integer in \[1, n = 2\]"):
        hessian_eigs(lambda: (w * w).sum(), [w], k=3)
    with pytest.raises(ValueError, match="loss_fn\\(\\) must return a scalar"):
        hessian_trace(lambda: w * w, [w])
    with pytest.raises(ValueError, match="does not require grad"):
        hessian_trace(lambda: (w * w).sum(), [cr.tensor(1.0)])
    with pytest.raises(ValueError, match="got no parameters"):
        hessian_trace(lambda: (w * w).sum(), [])
