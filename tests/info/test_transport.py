"""Optimal transport: wasserstein_1d against SciPy and POT, emd against POT's ot.emd2, sinkhorn
against POT and converging to emd as reg -> 0; gradients; errors."""

import numpy as np
import pytest
import scipy.stats as st

import chainrule as cr

I = cr.info


def _problem(seed, n=6, m=7):
    rng = np.random.default_rng(seed)
    a, b = rng.random(n) + 0.1, rng.random(m) + 0.1
    return a / a.sum(), b / b.sum(), rng.random((n, m))


@pytest.mark.parametrize("weighted", [False, True])
def test_wasserstein_1d_matches_scipy(weighted):
    rng = np.random.default_rng(0)
    u, v = rng.normal(size=40), rng.normal(1.0, 2.0, size=25)
    uw, vw = (rng.random(40), rng.random(25)) if weighted else (None, None)
    want = st.wasserstein_distance(u, v, uw, vw)
    assert I.wasserstein_1d(u, v, uw, vw).item() == pytest.approx(want, rel=1e-10, abs=1e-12)
    assert I.wasserstein_distance(u, v, uw, vw).item() == pytest.approx(want, rel=1e-10)


@pytest.mark.parametrize("p", [1, 2, 3.5])
def test_wasserstein_1d_matches_pot(p):
    ot = pytest.importorskip("ot")
    rng = np.random.default_rng(1)
    u, v = rng.normal(size=30), rng.exponential(size=20)
    uw, vw = rng.random(30), rng.random(20)
    want = ot.wasserstein_1d(u, v, uw / uw.sum(), vw / vw.sum(), p=p)
    assert I.wasserstein_1d(u, v, uw, vw, p=p).item() == pytest.approx(want, rel=1e-10)


@pytest.mark.parametrize("p", [1, 2])
def test_gradcheck_wasserstein_1d_in_values_and_weights(p):
    rng = np.random.default_rng(2)
    u, v = (cr.tensor(x, requires_grad=True) for x in (rng.normal(size=5), rng.normal(size=4)))
    uw, vw = (cr.tensor(x, requires_grad=True) for x in (rng.random(5) + 0.1, rng.random(4) + .1))
    assert cr.gradcheck(lambda u, v, uw, vw: I.wasserstein_1d(u, v, uw, vw, p=p),
                        [u, v, uw, vw])


def test_emd_matches_pot():
    ot = pytest.importorskip("ot")
    for seed in range(3):
        a, b, M = _problem(seed)
        cost, plan = I.emd(a, b, M)
        assert cost.item() == pytest.approx(ot.emd2(a, b, M), rel=1e-10, abs=1e-12)
        np.testing.assert_allclose(plan.numpy().sum(1), a, atol=1e-12)
        np.testing.assert_allclose(plan.numpy().sum(0), b, atol=1e-12)
        assert (plan.numpy() >= 0).all()
        assert I.emd2(a, b, M).item() == pytest.approx(cost.item())


def test_emd_of_two_point_clouds_on_the_line_is_wasserstein():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=8), rng.normal(2.0, 1.0, size=8)
    M = np.abs(x[:, None] - y[None, :])
    u = np.full(8, 1 / 8)
    assert I.emd(u, u, M).cost.item() == pytest.approx(st.wasserstein_distance(x, y), rel=1e-10)


def test_emd_gradient_is_the_plan():
    a, b, M = _problem(4)
    Mt = cr.tensor(M, requires_grad=True)
    cost, plan = I.emd(a, b, Mt)
    cost.backward()
    np.testing.assert_allclose(Mt.grad.numpy(), plan.numpy())
    assert cr.gradcheck(lambda M: I.emd2(a, b, M), [cr.tensor(M, requires_grad=True)])


def test_sinkhorn_matches_pot_log_domain():
    ot = pytest.importorskip("ot")
    a, b, M = _problem(5)
    for reg in (1.0, 0.1, 0.02):
        want = ot.sinkhorn(a, b, M, reg, method="sinkhorn_log", numItermax=10_000,
                           stopThr=1e-12)
        cost, plan = I.sinkhorn(a, b, M, reg, numItermax=10_000, stopThr=1e-12)
        np.testing.assert_allclose(plan.numpy(), want, rtol=1e-7, atol=1e-10)
        assert cost.item() == pytest.approx((want * M).sum(), rel=1e-7)


def test_sinkhorn_approaches_emd_as_reg_goes_to_zero():
    a, b, M = _problem(6)
    exact = I.emd2(a, b, M).item()
    gaps = [I.sinkhorn2(a, b, M, reg, numItermax=20_000).item() - exact
            for reg in (1.0, 0.1, 0.01, 0.003)]
    assert all(g >= -1e-9 for g in gaps)  # converged plans are feasible, so never cheaper
    assert gaps == sorted(gaps, reverse=True)
    assert gaps[-1] < 1e-5


def test_sinkhorn_at_tiny_reg_stays_finite():
    a, b, M = _problem(7)
    cost, plan = I.sinkhorn(a, b, M * 1000, reg=1e-3, numItermax=50, warn=False)
    assert np.isfinite(plan.numpy()).all() and np.isfinite(cost.item())


def test_gradcheck_sinkhorn():
    a, b, M = _problem(8, 4, 3)
    at, bt, Mt = (cr.tensor(x, requires_grad=True) for x in (a, b, M))

    def f(a, b, M):  # stay on the simplex: Sinkhorn needs equal masses
        return I.sinkhorn(a / a.sum(), b / b.sum(), M, reg=0.5, stopThr=1e-13).cost

    assert cr.gradcheck(f, [at, bt, Mt])
    assert cr.gradcheck(lambda M: I.sinkhorn(a, b, M, reg=0.5).plan, [Mt])


def test_sinkhorn_zero_mass_entries():
    a = np.array([0.5, 0.0, 0.5])
    b = np.array([0.25, 0.75])
    M = cr.tensor(np.random.default_rng(9).random((3, 2)), requires_grad=True)
    cost, plan = I.sinkhorn(a, b, M, reg=0.1)
    np.testing.assert_allclose(plan.numpy()[1], [0.0, 0.0])
    cost.backward()
    assert np.isfinite(M.grad.numpy()).all()


def test_sinkhorn_warns_when_not_converged():
    a, b, M = _problem(10)
    with pytest.warns(RuntimeWarning, match="did not converge"):
        I.sinkhorn(a, b, M, reg=1e-3, numItermax=5)


@pytest.mark.parametrize("call, match", [
    (lambda: I.emd([0.5, 0.5], [0.2, 0.2], np.ones((2, 2))), "same positive mass"),
    (lambda: I.emd([0.5, 0.5], [1.0], np.ones((2, 2))), r"do not fit; got shapes \(2,\), \(1,\)"),
    (lambda: I.sinkhorn([1.0], [1.0], np.ones((1, 1)), reg=0), "reg must be positive"),
    (lambda: I.sinkhorn([1.5, -0.5], [0.5, 0.5], np.ones((2, 2)), 1.0), "a must be non-neg"),
    (lambda: I.wasserstein_1d([], [1.0]), "non-empty 1-D"),
    (lambda: I.wasserstein_1d([0.0], [1.0], p=0.5), "p must be >= 1"),
    (lambda: I.wasserstein_1d([0.0, 1.0], [1.0], [1.0], None), "u_weights must match"),
])
def test_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
