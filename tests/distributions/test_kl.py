"""Closed-form KL divergences against numerical integration, scipy.special.rel_entr and PyTorch;
gradchecks; +inf for mass outside q's support; the registry's dispatch."""

import numpy as np
import pytest
from scipy import integrate
from scipy.special import rel_entr

import chainrule as cr

D = cr.distributions

# (p, q, integration range over p's support) with scalar float64 parameters
PAIRS = {
    "Normal-Normal": (lambda: D.Normal(0.3, 0.8), lambda: D.Normal(-1.0, 1.7), (-np.inf, np.inf)),
    "Exponential-Exponential": (lambda: D.Exponential(0.7), lambda: D.Exponential(2.0),
                                (0, np.inf)),
    "Uniform-Uniform": (lambda: D.Uniform(0.5, 1.5), lambda: D.Uniform(-1.0, 3.0), (0.5, 1.5)),
    "Gamma-Gamma": (lambda: D.Gamma(2.5, 1.5), lambda: D.Gamma(0.8, 0.6), (0, np.inf)),
    "Beta-Beta": (lambda: D.Beta(2.0, 3.5), lambda: D.Beta(0.7, 1.3), (0, 1)),
    "Uniform-Normal": (lambda: D.Uniform(-0.5, 2.0), lambda: D.Normal(0.3, 1.1), (-0.5, 2.0)),
    "Uniform-Exponential": (lambda: D.Uniform(0.5, 2.0), lambda: D.Exponential(1.3),
                            (0.5, 2.0)),
    "Exponential-Gamma": (lambda: D.Exponential(0.9), lambda: D.Gamma(1.7, 1.2), (0, np.inf)),
    "Gamma-Exponential": (lambda: D.Gamma(1.7, 1.2), lambda: D.Exponential(0.9), (0, np.inf)),
}


@pytest.mark.parametrize("name", PAIRS)
def test_closed_form_matches_numerical_integration(name):
    make_p, make_q, (lo, hi) = PAIRS[name]
    p, q = make_p(), make_q()

    def integrand(x):
        lp = p.log_prob(cr.tensor(x)).item()
        return np.exp(lp) * (lp - q.log_prob(cr.tensor(x)).item())

    want, _ = integrate.quad(integrand, lo, hi, epsabs=1e-13, epsrel=1e-12, limit=200)
    assert D.kl_divergence(p, q).item() == pytest.approx(want, rel=1e-8, abs=1e-10)


@pytest.mark.parametrize("name", PAIRS)
def test_closed_form_matches_pytorch(name):
    torch = pytest.importorskip("torch")
    make_p, make_q, _ = PAIRS[name]
    p, q = make_p(), make_q()

    def to_torch(d):
        cls = getattr(torch.distributions, type(d).__name__)
        names = [n for n in type(d).arg_constraints if n in d.__dict__]
        return cls(*[torch.tensor(getattr(d, n).numpy()) for n in names])

    want = torch.distributions.kl_divergence(to_torch(p), to_torch(q)).item()
    assert D.kl_divergence(p, q).item() == pytest.approx(want, rel=1e-10, abs=1e-12)


def test_discrete_kl_matches_rel_entr():
    a, b = np.array([0.2, 0.5, 0.3]), np.array([0.1, 0.6, 0.3])
    want = rel_entr(a, b).sum()
    got = D.kl_divergence(D.Categorical(probs=cr.tensor(a)), D.Categorical(probs=cr.tensor(b)))
    assert got.item() == pytest.approx(want, rel=1e-12)
    got = D.kl_divergence(D.Categorical(logits=cr.tensor(np.log(a))),
                          D.Categorical(logits=cr.tensor(np.log(b) + 5)))
    assert got.item() == pytest.approx(want, rel=1e-10)
    for kw in ("probs", "logits"):
        tr = (lambda x: x) if kw == "probs" else (lambda x: np.log(x) - np.log1p(-x))
        got = D.kl_divergence(D.Bernoulli(**{kw: cr.tensor(tr(0.3))}),
                              D.Bernoulli(**{kw: cr.tensor(tr(0.8))}))
        assert got.item() == pytest.approx(rel_entr([0.3, 0.7], [0.8, 0.2]).sum(), rel=1e-10)


def test_mvn_kl_matches_the_formula():
    rng = np.random.default_rng(0)
    A, B = rng.normal(size=(2, 3, 3))
    Sp, Sq = A @ A.T + np.eye(3), B @ B.T + np.eye(3)
    mp, mq = rng.normal(size=(2, 3))
    iq = np.linalg.inv(Sq)
    want = 0.5 * (np.trace(iq @ Sp) + (mq - mp) @ iq @ (mq - mp) - 3
                  + np.log(np.linalg.det(Sq) / np.linalg.det(Sp)))
    got = D.kl_divergence(D.MultivariateNormal(cr.tensor(mp), cr.tensor(Sp)),
                          D.MultivariateNormal(cr.tensor(mq), cr.tensor(Sq)))
    assert got.item() == pytest.approx(want, rel=1e-10)


GRAD_CASES = {
    "Normal": (D.Normal, [[0.3, -1.0], [0.8, 1.5]], [[1.0, 0.0], [1.2, 0.7]]),
    "Exponential": (D.Exponential, [[0.7, 2.0]], [[1.5, 0.4]]),
    "Gamma": (D.Gamma, [[2.5, 0.9], [1.5, 0.5]], [[0.8, 1.7], [0.6, 1.1]]),
    "Beta": (D.Beta, [[2.0, 0.6], [3.5, 1.1]], [[0.7, 2.0], [1.3, 0.9]]),
    "Bernoulli": (lambda l: D.Bernoulli(logits=l), [[0.3, -2.0]], [[1.0, 0.5]]),
    "Categorical": (lambda p: D.Categorical(probs=p), [[0.2, 0.5, 0.3]], [[0.4, 0.4, 0.2]]),
    "Uniform": (D.Uniform, [[0.0, 0.5], [1.0, 1.0]], [[-1.0, 0.2], [2.0, 1.1]]),
}


@pytest.mark.parametrize("name", GRAD_CASES)
def test_gradcheck_kl(name):
    make, p_params, q_params = GRAD_CASES[name]
    ps = [cr.tensor(v, requires_grad=True) for v in p_params]
    qs = [cr.tensor(v, requires_grad=True) for v in q_params]
    n = len(ps)
    f = lambda *t: D.kl_divergence(make(*t[:n]), make(*t[n:]))
    assert cr.gradcheck(f, ps + qs)
    if name in ("Normal", "Gamma", "Beta"):
        assert cr.gradgradcheck(f, ps + qs)


def test_gradcheck_mvn_kl():
    rng = np.random.default_rng(1)
    mp, mq = (cr.tensor(v, requires_grad=True) for v in rng.normal(size=(2, 3)))
    A, B = (cr.tensor(v, requires_grad=True) for v in rng.normal(size=(2, 3, 3)))
    f = lambda mp, mq, A, B: D.kl_divergence(
        D.MultivariateNormal(mp, A @ A.mT + cr.eye(3)), D.MultivariateNormal(mq, scale_tril=(
            B * cr.tensor(np.tril(np.ones((3, 3)), -1))) + 2 * cr.eye(3)))
    assert cr.gradcheck(f, [mp, mq, A, B])


def test_kl_is_zero_on_itself_and_asymmetric():
    p, q = D.Normal(0.0, 1.0), D.Normal(1.0, 3.0)
    assert D.kl_divergence(p, p).item() == 0.0
    assert D.kl_divergence(p, q).item() != pytest.approx(D.kl_divergence(q, p).item())


def test_kl_is_infinite_where_p_has_mass_outside_q():
    assert D.kl_divergence(D.Uniform(0.0, 1.0), D.Uniform(2.0, 3.0)).item() == np.inf
    assert D.kl_divergence(D.Uniform(0.0, 1.0), D.Uniform(0.5, 3.0)).item() == np.inf
    assert D.kl_divergence(D.Normal(0.0, 1.0), D.Uniform(-5.0, 5.0)).item() == np.inf
    assert D.kl_divergence(D.Normal(0.0, 1.0), D.Gamma(1.0, 1.0)).item() == np.inf
    assert D.kl_divergence(D.Uniform(-1.0, 1.0), D.Exponential(1.0)).item() == np.inf
    assert D.kl_divergence(D.Bernoulli(0.5), D.Bernoulli(0.0)).item() == np.inf
    got = D.kl_divergence(D.Categorical(probs=cr.tensor([0.5, 0.5])),
                          D.Categorical(probs=cr.tensor([1.0, 0.0])))
    assert got.item() == np.inf
    # the reverse direction is finite: q = (1, 0) puts no mass where p has none
    got = D.kl_divergence(D.Categorical(probs=cr.tensor([1.0, 0.0])),
                          D.Categorical(probs=cr.tensor([0.5, 0.5])))
    assert got.item() == pytest.approx(np.log(2))


def test_batched_kl_broadcasts():
    kl = D.kl_divergence(D.Normal(cr.zeros(4, 1), 1.0), D.Normal(cr.zeros(3), cr.ones(3) * 2))
    assert kl.shape == (4, 3)


def test_registry_dispatch_and_missing_pairs():
    class Wide(D.Normal):
        pass

    assert D.kl_divergence(Wide(0.0, 1.0), D.Normal(0.0, 1.0)).item() == 0.0

    @D.register_kl(Wide, D.Normal)
    def _kl_wide(p, q):
        return cr.tensor(42.0)

    assert D.kl_divergence(Wide(0.0, 1.0), D.Normal(0.0, 1.0)).item() == 42.0
    assert D.kl_divergence(D.Normal(0.0, 1.0), Wide(0.0, 1.0)).item() == 0.0
    with pytest.raises(NotImplementedError, match=r"KL\(Bernoulli \|\| Normal\)"):
        D.kl_divergence(D.Bernoulli(0.5), D.Normal(0.0, 1.0))
