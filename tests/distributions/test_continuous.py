"""Continuous families against scipy.stats (float64, 1e-10), gradchecks, KS tests of the samplers,
pathwise (rsample) gradients and parameter validation."""

from dataclasses import dataclass

import numpy as np
import pytest
import scipy.stats as st

import chainrule as cr

D = cr.distributions


@dataclass
class Family:
    name: str
    make: object          # (*param tensors) -> Distribution
    params: tuple         # numpy arrays, one batch of 3
    scipy: object         # (*params) -> frozen scipy distribution
    values: object        # rng -> valid values of shape (3,)
    has_cdf: bool = False


FAMILIES = [
    Family("Normal", D.Normal, (np.array([-1.0, 0.5, 2.0]), np.array([0.5, 1.0, 3.0])),
           lambda m, s: st.norm(m, s), lambda rng: rng.normal(size=3) * 2, True),
    Family("Exponential", D.Exponential, (np.array([0.5, 1.0, 3.0]),),
           lambda r: st.expon(scale=1 / r), lambda rng: rng.exponential(size=3) + 0.1, True),
    Family("Uniform", D.Uniform, (np.array([-1.0, 0.0, 2.0]), np.array([1.0, 0.5, 5.0])),
           lambda lo, hi: st.uniform(lo, hi - lo),
           lambda rng: np.array([-1.0, 0.0, 2.0]) + rng.random(3) * np.array([2, 0.5, 3]), True),
    Family("Gamma", D.Gamma, (np.array([0.7, 2.0, 5.0]), np.array([0.5, 1.0, 3.0])),
           lambda a, r: st.gamma(a, scale=1 / r), lambda rng: rng.gamma(2.0, size=3) + 0.05),
    Family("Beta", D.Beta, (np.array([0.7, 2.0, 5.0]), np.array([1.5, 2.0, 0.8])),
           lambda a, b: st.beta(a, b), lambda rng: rng.uniform(0.05, 0.95, size=3)),
]
IDS = [f.name for f in FAMILIES]


def _dist(f, params=None):
    return f.make(*[cr.tensor(p) for p in (params or f.params)])


@pytest.mark.parametrize("f", FAMILIES, ids=IDS)
def test_log_prob_entropy_moments_match_scipy(f):
    rng = np.random.default_rng(1)
    x = f.values(rng)
    d, ref = _dist(f), f.scipy(*f.params)
    assert d.batch_shape == (3,) and d.event_shape == ()
    np.testing.assert_allclose(d.log_prob(cr.tensor(x)).numpy(), ref.logpdf(x), rtol=1e-10,
                               atol=1e-10)
    np.testing.assert_allclose(d.entropy().numpy(), ref.entropy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(d.mean.numpy(), ref.mean(), rtol=1e-10)
    np.testing.assert_allclose(d.variance.numpy(), ref.var(), rtol=1e-10)
    np.testing.assert_allclose(d.stddev.numpy(), ref.std(), rtol=1e-10)


@pytest.mark.parametrize("f", [f for f in FAMILIES if f.has_cdf], ids=lambda f: f.name)
def test_cdf_icdf_match_scipy(f):
    x = f.values(np.random.default_rng(2))
    d, ref = _dist(f), f.scipy(*f.params)
    np.testing.assert_allclose(d.cdf(cr.tensor(x)).numpy(), ref.cdf(x), rtol=1e-10, atol=1e-12)
    q = np.array([0.01, 0.5, 0.97])
    np.testing.assert_allclose(d.icdf(cr.tensor(q)).numpy(), ref.ppf(q), rtol=1e-10, atol=1e-12)


def test_normal_cdf_is_accurate_in_the_far_tail():
    got = D.Normal(0.0, 1.0).cdf(cr.tensor(-30.0)).item()
    assert got == pytest.approx(st.norm.cdf(-30.0), rel=1e-10)


@pytest.mark.parametrize("f", FAMILIES, ids=IDS)
def test_gradcheck_log_prob_in_value_and_params(f):
    x = cr.tensor(f.values(np.random.default_rng(3)), requires_grad=True)
    ps = [cr.tensor(p, requires_grad=True) for p in f.params]
    assert cr.gradcheck(lambda x, *ps: f.make(*ps).log_prob(x), [x, *ps])
    if f.name != "Uniform":
        assert cr.gradgradcheck(lambda x, *ps: f.make(*ps).log_prob(x), [x, *ps])


@pytest.mark.parametrize("f", FAMILIES, ids=IDS)
def test_gradcheck_entropy_and_cdf(f):
    ps = [cr.tensor(p, requires_grad=True) for p in f.params]
    assert cr.gradcheck(lambda *ps: f.make(*ps).entropy(), ps)
    if f.has_cdf:
        x = cr.tensor(f.values(np.random.default_rng(4)), requires_grad=True)
        assert cr.gradcheck(lambda x, *ps: f.make(*ps).cdf(x), [x, *ps])
        q = cr.tensor([0.2, 0.5, 0.9], requires_grad=True)
        assert cr.gradcheck(lambda q, *ps: f.make(*ps).icdf(q), [q, *ps])


KS_CASES = [("Normal", D.Normal(1.5, 2.0), st.norm(1.5, 2.0)),
            ("Exponential", D.Exponential(2.5), st.expon(scale=0.4)),
            ("Uniform", D.Uniform(-1.0, 3.0), st.uniform(-1.0, 4.0)),
            ("Gamma", D.Gamma(0.6, 2.0), st.gamma(0.6, scale=0.5)),
            ("Gamma-large", D.Gamma(7.0, 0.5), st.gamma(7.0, scale=2.0)),
            ("Beta", D.Beta(0.5, 2.5), st.beta(0.5, 2.5))]


@pytest.mark.parametrize("name, d, ref", KS_CASES, ids=[c[0] for c in KS_CASES])
@pytest.mark.parametrize("method", ["sample", "rsample"])
def test_kolmogorov_smirnov_10000_samples(name, d, ref, method):
    cr.manual_seed(1234)
    x = getattr(d, method)((10_000,))
    assert x.shape == (10_000,)
    assert st.kstest(x.numpy(), ref.cdf).pvalue > 0.001


def test_samples_are_reproducible_with_manual_seed():
    d = D.Normal(cr.tensor([0.0, 1.0]), 2.0)
    cr.manual_seed(7)
    a = d.sample((4, 5))
    cr.manual_seed(7)
    b = d.sample((4, 5))
    assert a.shape == (4, 5, 2) and np.array_equal(a.numpy(), b.numpy())
    assert not a.requires_grad


def test_pathwise_gradient_of_E_x2_under_normal():
    """E[x^2] = mu^2 + sigma^2: d/dmu = 2 mu, d/dsigma = 2 sigma (within Monte Carlo error)."""
    mu = cr.tensor(0.7, requires_grad=True)
    sigma = cr.tensor(1.3, requires_grad=True)
    n = 200_000
    cr.manual_seed(3)
    x = D.Normal(mu, sigma).rsample((n,))
    (x * x).mean().backward()
    eps = (x.numpy() - 0.7) / 1.3
    se_mu = np.std(2 * x.numpy()) / np.sqrt(n)
    se_sigma = np.std(2 * x.numpy() * eps) / np.sqrt(n)
    assert abs(mu.grad.item() - 2 * 0.7) < 4 * se_mu
    assert abs(sigma.grad.item() - 2 * 1.3) < 4 * se_sigma


@pytest.mark.parametrize("make, dmean", [
    (lambda a, b: D.Gamma(a, b), lambda a, b: (1 / b, -a / b**2)),
    (lambda a, b: D.Beta(a, b), lambda a, b: (b / (a + b) ** 2, -a / (a + b) ** 2)),
], ids=["Gamma", "Beta"])
def test_implicit_reparameterisation_gradients(make, dmean):
    """d/dtheta E[x] from rsample matches the derivative of the closed-form mean."""
    n = 20_000
    a = cr.tensor(np.full(n, 1.7), requires_grad=True)
    b = cr.tensor(np.full(n, 2.3), requires_grad=True)
    cr.manual_seed(5)
    make(a, b).rsample().sum().backward()
    for got, want in zip((a.grad.numpy(), b.grad.numpy()), dmean(1.7, 2.3)):
        assert abs(got.mean() - want) < 4 * got.std() / np.sqrt(n)


def test_rsample_is_differentiable_where_the_family_allows():
    assert all(f.make(*[cr.tensor(p) for p in f.params]).has_rsample for f in FAMILIES)
    with pytest.raises(NotImplementedError, match="rsample"):
        D.Bernoulli(0.3).rsample()


@pytest.mark.parametrize("build, match", [
    (lambda: D.Normal(0.0, -1.0), "Normal: parameter scale must be > 0"),
    (lambda: D.Normal(0.0, float("nan")), "scale"),
    (lambda: D.Exponential(0.0), "Exponential: parameter rate"),
    (lambda: D.Uniform(1.0, 0.0), "Uniform: low must be less than high"),
    (lambda: D.Gamma(-1.0, 1.0), "Gamma: parameter concentration"),
    (lambda: D.Beta(1.0, 0.0), "Beta: parameter concentration0"),
    (lambda: D.Normal([0.0, 1.0], [1.0, 1.0, 1.0]), "Normal: parameter shapes"),
])
def test_invalid_parameters_are_clear_errors(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def test_values_outside_the_support():
    with pytest.raises(ValueError, match=r"Exponential.log_prob: value must be >= 0.0"):
        D.Exponential(1.0).log_prob(-1.0)
    with pytest.raises(ValueError, match="Beta.log_prob"):
        D.Beta(2.0, 2.0).log_prob(1.5)
    with pytest.raises(ValueError, match=r"icdf: value must be a probability"):
        D.Normal(0.0, 1.0).icdf(1.5)
    with pytest.raises(ValueError, match="does not broadcast"):
        D.Normal(cr.zeros(3), 1.0).log_prob(cr.zeros(4))
    # without validation the density is simply 0 outside the support
    assert D.Uniform(0.0, 1.0, validate_args=False).log_prob(2.0).item() == -np.inf
    assert D.Normal(0.0, -1.0, validate_args=False).scale.item() == -1.0


def test_float32_stays_float32():
    cr.set_default_dtype(np.float32)
    d = D.Normal(0.0, 1.0)
    assert d.log_prob(0.5).dtype == np.float32
    assert d.sample((3,)).dtype == np.float32
    assert D.Gamma(2.0, 1.0).log_prob(1.0).dtype == np.float32
