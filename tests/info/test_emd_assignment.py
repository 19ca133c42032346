"""emd/emd2's fast path: uniform marginals of equal size n solved by an optimal assignment
(scipy.optimize.linear_sum_assignment) — the same value as the LP and as POT's ot.emd2, a
permutation plan, the gradient dcost/dM = plan, and dual potentials that certify optimality."""

import numpy as np
import pytest
from scipy.spatial.distance import cdist

import chainrule as cr
from chainrule.info import transport as T

I = cr.info


def _clouds(seed, n, d=2):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.standard_normal((n, d)) + 1.0


@pytest.mark.parametrize("n", [2, 7, 40, 120])
def test_assignment_equals_the_linear_program(n):
    x, y = _clouds(n, n)
    M = cdist(x, y)
    a = np.full(n, 1 / n)
    assert T._uniform_square(a, a)
    plan_lp, _, _ = T._linear_program(a, a, M)
    cost, plan = I.emd(a, a, M)
    assert cost.item() == pytest.approx((plan_lp * M).sum(), rel=0, abs=1e-9)
    P = plan.numpy() * n  # a permutation matrix
    np.testing.assert_array_equal(np.sort(P, axis=None)[-n:], np.ones(n))
    np.testing.assert_array_equal(P.sum(0), np.ones(n))
    np.testing.assert_array_equal(P.sum(1), np.ones(n))


@pytest.mark.parametrize("seed", range(3))
def test_assignment_equals_pots_emd2(seed):
    ot = pytest.importorskip("ot")
    n = 60
    x, y = _clouds(10 + seed, n, d=3)
    M = cdist(x, y) ** (1 + seed)  # W1, W2^2, ...
    a = np.full(n, 1 / n)
    assert I.emd2(a, a, M).item() == pytest.approx(ot.emd2(a, a, M), rel=0, abs=1e-9)


def test_ties_integer_costs_and_float32():
    ot = pytest.importorskip("ot")
    rng = np.random.default_rng(5)
    M = rng.integers(0, 4, (30, 30)).astype(np.float64)  # many optimal plans
    a = np.full(30, 1 / 30)
    assert I.emd2(a, a, M).item() == pytest.approx(ot.emd2(a, a, M), abs=1e-9)
    c32 = I.emd2(a.astype(np.float32), a.astype(np.float32), M.astype(np.float32))
    assert c32.dtype == np.float32 and c32.item() == pytest.approx(ot.emd2(a, a, M), abs=1e-6)


def test_gradient_is_the_plan_and_the_duals_certify_optimality():
    n = 25
    x, y = _clouds(3, n)
    M = cdist(x, y)
    a = np.full(n, 1 / n)
    Mt, at, bt = (cr.tensor(v, requires_grad=True) for v in (M, a, a.copy()))
    cost, plan = I.emd(at, bt, Mt)
    cost.backward()
    np.testing.assert_array_equal(Mt.grad.numpy(), plan.numpy())
    u, v, c = at.grad.numpy(), bt.grad.numpy(), cost.item()
    assert abs(u.mean()) < 1e-12 and abs(v.mean()) < 1e-12  # centred, as the LP's
    # feasibility u_i + v_j + c <= M_ij (the centring moved c = mean u + mean v out), equality
    # on the plan's support, so a.u + b.v (+ c) = cost: strong duality
    slack = M - (u[:, None] + v[None, :] + c)
    assert slack.min() > -1e-12
    np.testing.assert_allclose(slack[plan.numpy() > 0], 0, atol=1e-12)
    # a small change of M moves the cost by <plan, dM> (the plan is unique here)
    dM = np.random.default_rng(0).standard_normal(M.shape) * 1e-7
    assert I.emd2(a, a, M + dM).item() - c == pytest.approx((plan.numpy() * dM).sum(), rel=1e-6)


def test_other_marginals_still_use_the_linear_program():
    ot = pytest.importorskip("ot")
    rng = np.random.default_rng(7)
    M = rng.random((6, 6))
    a, b = np.full(6, 1 / 6), rng.random(6) + 0.1
    b = b / b.sum()
    assert not T._uniform_square(a, b)
    assert not T._uniform_square(np.full(5, 0.2), np.full(6, 1 / 6))
    assert I.emd2(a, b, M).item() == pytest.approx(ot.emd2(a, b, M), abs=1e-10)
    M2 = rng.random((5, 6))
    assert I.emd2(np.full(5, 0.2), np.full(6, 1 / 6), M2).item() == \
        pytest.approx(ot.emd2(np.full(5, 0.2), np.full(6, 1 / 6), M2), abs=1e-10)
