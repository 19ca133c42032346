"""MultivariateNormal (full covariance through Cholesky), Independent (diagonal), the mixture,
and the Cholesky / triangular-solve primitives: scipy references, gradchecks, samplers."""

import numpy as np
import pytest
import scipy.stats as st

import chainrule as cr
from chainrule.ops.linalg import cholesky, triangular_solve

D = cr.distributions


def _spd(rng, d, batch=()):
    A = rng.normal(size=batch + (d, d))
    return A @ np.swapaxes(A, -1, -2) + d * np.eye(d)


def test_mvn_matches_scipy_for_every_parameterisation():
    rng = np.random.default_rng(0)
    mu, S = rng.normal(size=3), _spd(rng, 3)
    x = rng.normal(size=(5, 3))
    ref = st.multivariate_normal(mu, S)
    for kw, m in (("covariance_matrix", S), ("precision_matrix", np.linalg.inv(S)),
                  ("scale_tril", np.linalg.cholesky(S))):
        d = D.MultivariateNormal(cr.tensor(mu), **{kw: cr.tensor(m)})
        assert d.batch_shape == () and d.event_shape == (3,)
        np.testing.assert_allclose(d.log_prob(cr.tensor(x)).numpy(), ref.logpdf(x), rtol=1e-10)
        np.testing.assert_allclose(d.entropy().item(), ref.entropy(), rtol=1e-10)
        np.testing.assert_allclose(d.covariance_matrix.numpy(), S, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(d.precision_matrix.numpy(), np.linalg.inv(S), rtol=1e-9,
                                   atol=1e-12)
        np.testing.assert_allclose(d.variance.numpy(), np.diag(S), rtol=1e-10)


def test_mvn_batches_broadcast():
    rng = np.random.default_rng(1)
    mu, S = rng.normal(size=(4, 1, 2)), _spd(rng, 2, (3,))
    d = D.MultivariateNormal(cr.tensor(mu), cr.tensor(S))
    assert d.batch_shape == (4, 3) and d.event_shape == (2,)
    x = rng.normal(size=(6, 4, 3, 2))
    lp = d.log_prob(cr.tensor(x)).numpy()
    assert lp.shape == (6, 4, 3)
    assert lp[2, 1, 0] == pytest.approx(st.multivariate_normal(mu[1, 0], S[0]).logpdf(x[2, 1, 0]),
                                        rel=1e-10)
    assert d.sample((5,)).shape == (5, 4, 3, 2)
    assert d.entropy().shape == (4, 3)


def test_gradcheck_mvn_log_prob_in_value_loc_and_covariance():
    rng = np.random.default_rng(2)
    x = cr.tensor(rng.normal(size=(2, 3)), requires_grad=True)
    mu = cr.tensor(rng.normal(size=3), requires_grad=True)
    A = cr.tensor(rng.normal(size=(3, 3)), requires_grad=True)

    def f(x, mu, A):  # a covariance that stays symmetric positive-definite under perturbation
        return D.MultivariateNormal(mu, A @ A.mT + 3 * cr.eye(3)).log_prob(x)

    assert cr.gradcheck(f, [x, mu, A])
    assert cr.gradgradcheck(f, [x, mu, A])
    assert cr.gradcheck(lambda A: D.MultivariateNormal(mu, A @ A.mT + 3 * cr.eye(3)).entropy(),
                        [A])


def test_cholesky_and_triangular_solve_primitives():
    rng = np.random.default_rng(3)
    A = cr.tensor(rng.normal(size=(2, 3, 3)), requires_grad=True)
    B = cr.tensor(rng.normal(size=(3, 2)), requires_grad=True)
    spd = lambda A: A @ A.mT + 3 * cr.eye(3)
    L = cholesky(spd(A))
    np.testing.assert_allclose(L.numpy(), np.linalg.cholesky(spd(A).numpy()), rtol=1e-12)
    assert cr.gradgradcheck(lambda A: cholesky(spd(A)), [A])
    assert cr.gradgradcheck(lambda A, B: triangular_solve(cholesky(spd(A)), B), [A, B])
    assert cr.gradgradcheck(lambda A, B: triangular_solve(cholesky(spd(A)).mT, B, upper=True),
                            [A, B])
    with pytest.raises(ValueError, match="not positive-definite"):
        cholesky(cr.tensor(-np.eye(2)))


def test_mvn_sampler_whitened_samples_are_standard_normal():
    rng = np.random.default_rng(4)
    mu, S = np.array([1.0, -2.0]), _spd(rng, 2)
    d = D.MultivariateNormal(cr.tensor(mu), cr.tensor(S))
    cr.manual_seed(21)
    for x in (d.sample((10_000,)).numpy(), d.rsample((10_000,)).numpy()):
        z = np.linalg.solve(np.linalg.cholesky(S), (x - mu).T).T
        for k in range(2):
            assert st.kstest(z[:, k], "norm").pvalue > 0.001
        assert abs(np.corrcoef(z.T)[0, 1]) < 4 / np.sqrt(10_000)


def test_mvn_rsample_is_pathwise():
    mu = cr.tensor([0.5, -1.0], requires_grad=True)
    L = cr.tensor([[1.0, 0.0], [0.3, 0.8]], requires_grad=True)
    cr.manual_seed(0)
    x = D.MultivariateNormal(mu, scale_tril=L).rsample((50_000,))
    (x * x).sum(-1).mean().backward()  # E|x|^2 = |mu|^2 + |L|_F^2
    np.testing.assert_allclose(mu.grad.numpy(), 2 * mu.numpy(), atol=0.03)
    np.testing.assert_allclose(L.grad.numpy(), 2 * np.tril(L.numpy()), atol=0.03)


def test_mvn_errors():
    with pytest.raises(ValueError, match="exactly one of covariance_matrix"):
        D.MultivariateNormal(cr.zeros(2))
    with pytest.raises(ValueError, match="covariance_matrix must be symmetric positive-def"):
        D.MultivariateNormal(cr.zeros(2), cr.tensor([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(ValueError, match="scale_tril must be lower triangular"):
        D.MultivariateNormal(cr.zeros(2), scale_tril=cr.tensor([[1.0, 1.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match=r"loc must be \(..., d\)"):
        D.MultivariateNormal(cr.zeros(3), cr.eye(2))
    with pytest.raises(ValueError, match="event shape"):
        D.MultivariateNormal(cr.zeros(2), cr.eye(2)).log_prob(cr.zeros(3))


def test_independent_normal_is_the_diagonal_gaussian():
    loc, scale = np.array([0.5, -1.0, 2.0]), np.array([0.3, 1.0, 2.0])
    diag = D.Independent(D.Normal(cr.tensor(loc), cr.tensor(scale)), 1)
    full = D.MultivariateNormal(cr.tensor(loc), cr.tensor(np.diag(scale**2)))
    assert diag.batch_shape == () and diag.event_shape == (3,)
    x = cr.tensor(np.random.default_rng(5).normal(size=(4, 3)))
    np.testing.assert_allclose(diag.log_prob(x).numpy(), full.log_prob(x).numpy(), rtol=1e-12)
    np.testing.assert_allclose(diag.entropy().item(), full.entropy().item(), rtol=1e-12)
    np.testing.assert_allclose(D.kl_divergence(diag, D.Independent(D.Normal(0.0, cr.ones(3)), 1))
                               .item(), D.kl_divergence(full, D.MultivariateNormal(
                                   cr.zeros(3), cr.eye(3))).item(), rtol=1e-12)
    assert diag.sample((2,)).shape == (2, 3) and diag.has_rsample
    with pytest.raises(ValueError, match="reinterpreted_batch_ndims must be in"):
        D.Independent(D.Normal(0.0, 1.0), 1)


def test_mixture_of_normals():
    w, m, s = np.array([0.3, 0.7]), np.array([-2.0, 1.5]), np.array([0.5, 1.2])
    p = D.MixtureSameFamily(D.Categorical(probs=cr.tensor(w)), D.Normal(cr.tensor(m),
                                                                        cr.tensor(s)))
    x = np.linspace(-4, 4, 9)
    want = np.log((w * st.norm(m, s).pdf(x[:, None])).sum(1))
    np.testing.assert_allclose(p.log_prob(cr.tensor(x)).numpy(), want, rtol=1e-12)
    mean = (w * m).sum()
    np.testing.assert_allclose(p.mean.item(), mean, rtol=1e-12)
    np.testing.assert_allclose(p.variance.item(), (w * (s**2 + (m - mean) ** 2)).sum(),
                               rtol=1e-12)
    cr.manual_seed(8)
    xs = p.sample((10_000,)).numpy()
    assert st.kstest(xs, lambda t: (w * st.norm(m, s).cdf(np.asarray(t)[..., None])).sum(-1)) \
        .pvalue > 0.001
    logits = cr.tensor(np.log(w), requires_grad=True)
    loc = cr.tensor(m, requires_grad=True)
    assert cr.gradcheck(lambda l, mu: D.MixtureSameFamily(D.Categorical(logits=l),
                                                          D.Normal(mu, cr.tensor(s)))
                        .log_prob(cr.tensor(x)), [logits, loc])
    with pytest.raises(ValueError, match="number of components"):
        D.MixtureSameFamily(D.Categorical(probs=cr.tensor(w)), D.Normal(cr.zeros(3), 1.0))
