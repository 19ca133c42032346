"""Bernoulli and Categorical: values against scipy.stats, probs/logits agreement, gradchecks,
sample mean and variance within 4 standard errors, and errors."""

import numpy as np
import pytest
import scipy.stats as st

import chainrule as cr

D = cr.distributions
P = np.array([0.1, 0.5, 0.93])


def _bernoullis():
    return [D.Bernoulli(probs=cr.tensor(P)),
            D.Bernoulli(logits=cr.tensor(np.log(P) - np.log1p(-P)))]


@pytest.mark.parametrize("i", [0, 1], ids=["probs", "logits"])
def test_bernoulli_matches_scipy(i):
    d = _bernoullis()[i]
    for x in (0.0, 1.0):
        np.testing.assert_allclose(d.log_prob(cr.tensor(np.full(3, x))).numpy(),
                                   st.bernoulli(P).logpmf(x), rtol=1e-10)
    np.testing.assert_allclose(d.entropy().numpy(), st.bernoulli(P).entropy(), rtol=1e-10)
    np.testing.assert_allclose(d.mean.numpy(), P, rtol=1e-12)
    np.testing.assert_allclose(d.variance.numpy(), P * (1 - P), rtol=1e-10)
    np.testing.assert_allclose(d.probs.numpy(), P, rtol=1e-12)


def test_bernoulli_at_the_edges_0_log_0():
    d = D.Bernoulli(probs=cr.tensor([0.0, 1.0], requires_grad=True))
    h = d.entropy()
    assert np.array_equal(h.numpy(), [0.0, 0.0])
    assert np.array_equal(d.log_prob(cr.tensor([0.0, 1.0])).numpy(), [0.0, 0.0])
    assert d.log_prob(cr.tensor([1.0, 0.0])).numpy().tolist() == [-np.inf, -np.inf]
    h.sum().backward()
    assert np.isfinite(d.probs.grad.numpy()).all()


def test_bernoulli_large_logits_are_finite():
    d = D.Bernoulli(logits=cr.tensor([-800.0, 800.0]))
    np.testing.assert_allclose(d.log_prob(cr.tensor([0.0, 1.0])).numpy(), [0.0, 0.0])
    np.testing.assert_allclose(d.log_prob(cr.tensor([1.0, 0.0])).numpy(), [-800.0, -800.0])


@pytest.mark.parametrize("kw", ["probs", "logits"])
def test_gradcheck_bernoulli(kw):
    x = cr.tensor([0.0, 1.0, 1.0])
    p = cr.tensor(P if kw == "probs" else np.array([-1.0, 0.3, 2.0]), requires_grad=True)
    assert cr.gradcheck(lambda p: D.Bernoulli(**{kw: p}).log_prob(x), [p])
    assert cr.gradgradcheck(lambda p: D.Bernoulli(**{kw: p}).log_prob(x), [p])
    assert cr.gradcheck(lambda p: D.Bernoulli(**{kw: p}).entropy(), [p])


Q = np.array([[0.2, 0.5, 0.3, 0.0], [0.25, 0.25, 0.25, 0.25]])


@pytest.mark.parametrize("kw", ["probs", "logits"])
def test_categorical_matches_scipy(kw):
    with np.errstate(divide="ignore"):
        d = D.Categorical(**{kw: cr.tensor(Q if kw == "probs" else np.log(Q) + 3.0)})
    assert d.batch_shape == (2,) and d.event_shape == ()
    x = cr.tensor(np.array([[1, 3], [2, 0], [0, 1]]))
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(d.log_prob(x).numpy(), np.log(Q[[0, 1], x.numpy()]),
                                   rtol=1e-12)
    np.testing.assert_allclose(d.entropy().numpy(), st.entropy(Q, axis=1), rtol=1e-10)
    np.testing.assert_allclose(d.probs.numpy(), Q, rtol=1e-12)
    assert d.mode.numpy().tolist() == [1, 0]
    assert np.isnan(d.mean.numpy()).all()


def test_categorical_normalises_probs_as_pytorch():
    d = D.Categorical(probs=cr.tensor([2.0, 6.0]))
    np.testing.assert_allclose(d.probs.numpy(), [0.25, 0.75])


def test_gradcheck_categorical():
    x = cr.tensor(np.array([0, 2, 1]))
    logits = cr.tensor(np.random.default_rng(0).normal(size=(3, 4)), requires_grad=True)
    assert cr.gradcheck(lambda l: D.Categorical(logits=l).log_prob(x), [logits])
    assert cr.gradgradcheck(lambda l: D.Categorical(logits=l).entropy(), [logits])
    probs = cr.tensor(np.random.default_rng(1).uniform(0.1, 1, size=(3, 4)), requires_grad=True)
    assert cr.gradcheck(lambda p: D.Categorical(probs=p).log_prob(x), [probs])
    assert cr.gradcheck(lambda p: D.Categorical(probs=p).entropy(), [probs])


def test_categorical_zero_probability_gradient_is_finite():
    p = cr.tensor([0.5, 0.5, 0.0], requires_grad=True)
    d = D.Categorical(probs=p)
    (d.entropy() + d.log_prob(cr.tensor(np.array(0)))).backward()
    assert np.isfinite(p.grad.numpy()).all()


def _within_4_se(x, mean, var):
    n = x.shape[0]
    m4 = ((x - mean) ** 4).mean(0)  # the central fourth moment, estimated
    assert np.all(np.abs(x.mean(0) - mean) < 4 * np.sqrt(var / n))
    var_of_var = (m4 - (n - 3) / (n - 1) * var**2) / n  # exact for the sample variance
    assert np.all(np.abs(x.var(0, ddof=1) - var) < 4 * np.sqrt(var_of_var))


def test_bernoulli_sample_mean_and_variance():
    cr.manual_seed(11)
    x = D.Bernoulli(cr.tensor(P)).sample((20_000,))
    assert x.shape == (20_000, 3) and x.dtype == np.float64
    assert set(np.unique(x.numpy())) <= {0.0, 1.0}
    _within_4_se(x.numpy(), P, P * (1 - P))


def test_categorical_sample_mean_and_variance():
    """A fair die: E[X] = 3.5 and Var X = 35/12 on the faces 1..6."""
    cr.manual_seed(12)
    faces = D.Categorical(probs=cr.tensor(np.full(6, 1 / 6))).sample((30_000,)).numpy() + 1
    assert faces.dtype == np.int64 and faces.min() == 1 and faces.max() == 6
    _within_4_se(faces.astype(float), 3.5, 35 / 12)
    cr.manual_seed(13)
    x = D.Categorical(probs=cr.tensor(Q)).sample((20_000,)).numpy()
    assert x.shape == (20_000, 2) and not (x[:, 0] == 3).any()  # a zero-probability category
    k = np.arange(4)
    mean = Q @ k
    _within_4_se(x.astype(float), mean, Q @ k**2 - mean**2)


def test_enumerate_support():
    assert D.Bernoulli(cr.tensor([0.3, 0.4])).enumerate_support().shape == (2, 2)
    d = D.Categorical(probs=cr.tensor(Q))
    s = d.enumerate_support()
    assert s.shape == (4, 2)
    np.testing.assert_allclose(d.log_prob(s).exp().numpy().sum(0), [1.0, 1.0])


@pytest.mark.parametrize("build, err, match", [
    (lambda: D.Bernoulli(), ValueError, "exactly one of probs and logits; got neither"),
    (lambda: D.Bernoulli(0.5, 0.0), ValueError, "got both"),
    (lambda: D.Bernoulli(1.5), ValueError, r"Bernoulli: parameter probs must be in \[0.0, 1.0\]"),
    (lambda: D.Categorical(probs=cr.tensor([0.5, -0.1])), ValueError, "probs must be >= 0"),
    (lambda: D.Categorical(probs=cr.tensor(0.5)), ValueError, "at least one dimension"),
    (lambda: D.Categorical(probs=cr.tensor([0.0, 0.0])), ValueError, "positive sum"),
    (lambda: D.Bernoulli(0.5).log_prob(0.5), ValueError, "value must be 0 or 1"),
    (lambda: D.Categorical(probs=cr.tensor([0.5, 0.5])).log_prob(cr.tensor(np.array(2))),
     ValueError, r"an integer in \[0, 1\]"),
    (lambda: D.Categorical(probs=cr.tensor([0.5, 0.5])).log_prob(cr.tensor(0.5)),
     ValueError, "integer category indices"),
])
def test_errors(build, err, match):
    with pytest.raises(err, match=match):
        build()
