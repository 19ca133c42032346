"""entropy, cross_entropy, perplexity, rel_entr, KL, JS against SciPy; 0 log 0; gradients."""

import numpy as np
import pytest
import scipy.special as sp
import scipy.stats as st
from scipy.spatial.distance import jensenshannon as scipy_jensenshannon

import chainrule as cr

I = cr.info
rng = np.random.default_rng(42)
P = rng.dirichlet(np.ones(6), size=4)
Q = rng.dirichlet(np.ones(6), size=4)


@pytest.mark.parametrize("base", [None, 2, np.e, 10])
def test_entropy_and_kl_match_scipy(base):
    np.testing.assert_allclose(I.entropy(cr.tensor(P), base=base).numpy(),
                               st.entropy(P, base=base, axis=1), rtol=1e-10)
    np.testing.assert_allclose(I.kl_divergence(cr.tensor(P), cr.tensor(Q), base=base).numpy(),
                               st.entropy(P, Q, base=base, axis=1), rtol=1e-10)
    np.testing.assert_allclose(I.js_divergence(cr.tensor(P), cr.tensor(Q), base=base).numpy(),
                               scipy_jensenshannon(P, Q, base=base, axis=1) ** 2, rtol=1e-10)
    np.testing.assert_allclose(I.jensenshannon(cr.tensor(P), cr.tensor(Q), base=base).numpy(),
                               scipy_jensenshannon(P, Q, base=base, axis=1), rtol=1e-10)


def test_rel_entr_matches_scipy_including_the_edges():
    x = np.array([0.0, 0.0, 0.3, 0.5, 2.0])
    y = np.array([0.0, 0.4, 0.0, 0.5, 1.0])
    np.testing.assert_array_equal(I.rel_entr(cr.tensor(x), cr.tensor(y)).numpy(),
                                  sp.rel_entr(x, y))


def test_axis_and_cross_entropy_perplexity():
    np.testing.assert_allclose(I.entropy(cr.tensor(P.T), axis=0).numpy(),
                               st.entropy(P, axis=1), rtol=1e-12)
    np.testing.assert_allclose(I.cross_entropy(cr.tensor(P), cr.tensor(Q)).numpy(),
                               -(P * np.log(Q)).sum(1), rtol=1e-12)
    assert I.perplexity(cr.full((8,), 1 / 8)).item() == pytest.approx(8.0)
    np.testing.assert_allclose(I.perplexity(cr.tensor(P), cr.tensor(Q)).numpy(),
                               np.exp(-(P * np.log(Q)).sum(1)), rtol=1e-12)


def test_zero_log_zero_is_zero_with_finite_gradients():
    p = cr.tensor([0.0, 0.25, 0.75], requires_grad=True)
    q = cr.tensor([0.5, 0.25, 0.25], requires_grad=True)
    h = I.entropy(p)
    assert h.item() == pytest.approx(st.entropy([0.0, 0.25, 0.75]))
    (h + I.kl_divergence(p, q) + I.js_divergence(p, q) + I.cross_entropy(p, q)).backward()
    assert np.isfinite(p.grad.numpy()).all() and np.isfinite(q.grad.numpy()).all()
    # d KL(p || q) / dq_i = -p_i / q_i: exactly 0 where p_i = 0
    g = cr.grad(lambda q: I.kl_divergence(cr.tensor([0.0, 0.25, 0.75]), q))(q)
    np.testing.assert_allclose(g.numpy(), [0.0, -1.0, -3.0])


def test_kl_is_infinite_where_q_is_zero_and_p_is_not():
    p, q = cr.tensor([0.5, 0.5]), cr.tensor([1.0, 0.0])
    assert I.kl_divergence(p, q).item() == np.inf
    assert I.cross_entropy(p, q).item() == np.inf
    assert I.kl_divergence(q, p).item() == pytest.approx(np.log(2))
    assert I.js_divergence(p, q, base=2).item() == pytest.approx(
        scipy_jensenshannon([0.5, 0.5], [1.0, 0.0], base=2) ** 2)
    # disjoint supports: KL infinite, JS at its maximum of 1 bit
    a, b = cr.tensor([1.0, 0.0]), cr.tensor([0.0, 1.0])
    assert I.kl_divergence(a, b).item() == np.inf
    assert I.js_divergence(a, b, base=2).item() == pytest.approx(1.0)


def test_gradcheck_entropy_kl_js_cross_entropy():
    p = cr.tensor(P[:2], requires_grad=True)
    q = cr.tensor(Q[:2], requires_grad=True)
    for fn in (lambda p, q: I.entropy(p, base=2), I.cross_entropy, I.kl_divergence,
               I.js_divergence, I.jensenshannon, I.rel_entr):
        assert cr.gradcheck(fn, [p, q])
        assert cr.gradgradcheck(fn, [p, q])


def test_distributions_are_accepted():
    D = cr.distributions
    assert I.entropy(D.Normal(0.0, 1.0)).item() == pytest.approx(st.norm.entropy())
    assert I.entropy(D.Bernoulli(0.5), base=2).item() == pytest.approx(1.0)
    assert I.kl_divergence(D.Normal(0.0, 1.0), D.Normal(1.0, 1.0)).item() == pytest.approx(0.5)


@pytest.mark.parametrize("call, match", [
    (lambda: I.entropy(cr.tensor([3.0, 1.0])), r"entropy: p must sum to 1 along axis -1; got "
                                               r"sums \[4\.\]; normalise"),
    (lambda: I.entropy(cr.tensor([1.2, -0.2])), r"entropy: p must be non-negative; got \[-0.2\]"),
    (lambda: I.kl_divergence([0.5, 0.5], [0.9, 0.2]), "kl_divergence: q must sum to 1"),
    (lambda: I.entropy(cr.tensor(1.0)), "at least one dimension"),
    (lambda: I.entropy([0.5, 0.5], base=1), "base must be a positive number other than 1"),
    (lambda: I.entropy([0.5, 0.5], base=-2), "base must be"),
    (lambda: I.rel_entr([-1.0], [1.0]), "rel_entr: x must be non-negative"),
    (lambda: I.entropy([0.5, float("nan")]), "non-negative"),
])
def test_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_float32_in_float32_out():
    cr.set_default_dtype(np.float32)
    h = I.entropy(cr.tensor([0.25, 0.75]), base=2)
    assert h.dtype == np.float32
    assert h.item() == pytest.approx(st.entropy([0.25, 0.75], base=2), rel=1e-6)


def test_js_divergence_with_a_subnormal_probability_is_finite():
    """(p + q) / 2 underflows to 0 for p = 5e-324, q = 0; JS stays finite (about a log 2 / 2)."""
    a = 5e-324  # the smallest subnormal: a / 2 rounds to 0
    js = cr.info.js_divergence(cr.tensor([a, 1.0 - a]), cr.tensor([0.0, 1.0])).item()
    assert np.isfinite(js) and 0.0 <= js < 1e-300
    rng = np.random.default_rng(3)
    p, q = rng.dirichlet(np.ones(6), size=2)  # ordinary inputs: SciPy's value
    got = cr.info.js_divergence(cr.tensor(p), cr.tensor(q)).item()
    assert np.isclose(got, scipy_jensenshannon(p, q) ** 2, rtol=1e-12, atol=0)
