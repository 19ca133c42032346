"""hessian_eigs by thick-restart Lanczos (issue 22): a basis of ncv vectors, never n x n.

Before, the default max_steps=None meant n Lanczos steps with the whole (n + 1) x n basis
allocated up front (53.8 GiB for an 85k-parameter MLP)."""

import tracemalloc

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.inspect import HessianOperator, hessian_eigs
from chainrule.inspect.curvature import thick_restart_lanczos


def _mlp(sizes, batch, seed=0, train_steps=20):
    """A float64 tanh MLP with cross-entropy on random data, trained a little (so the Hessian
    has its few large outliers), and its loss closure."""
    cr.manual_seed(seed)
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.Tanh())
    model = nn.Sequential(*layers).double()
    rng = np.random.default_rng(seed)
    X = cr.tensor(rng.standard_normal((batch, sizes[0])))
    y = cr.tensor(rng.integers(0, sizes[-1], batch))
    loss_fn = lambda: nn.functional.cross_entropy(model(X), y)
    opt = cr.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(train_steps):
        opt.zero_grad()
        loss_fn().backward()
        opt.step()
    return model, loss_fn


def _traced_peak(fn):
    tracemalloc.start()
    try:
        out = fn()
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_85k_parameter_mlp_top5_match_scipy_eigsh_in_bounded_memory(capsys):
    sla = pytest.importorskip("scipy.sparse.linalg")
    model, loss_fn = _mlp([64, 256, 256, 10], batch=32)
    n = sum(p.size for p in model.parameters())
    assert n == 85002
    ours, peak = _traced_peak(lambda: hessian_eigs(loss_fn, model.parameters(), k=5))
    # the old default asked for (n + 1) n float64s = 57.8 GB; now the basis is 21 vectors
    assert peak < 100 * n * 8, f"peak {peak / 1e6:.1f} MB"
    H = HessianOperator(loss_fn, model.parameters())
    op = sla.LinearOperator((n, n), matvec=lambda v: H.matvec(np.ravel(v)), dtype=np.float64)
    ref = np.sort(sla.eigsh(op, k=5, which="LA", tol=1e-9, return_eigenvectors=False))
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-5)
    assert capsys.readouterr().err == ""  # no progress bar when stderr is not a terminal


def test_basis_memory_is_ncv_vectors_not_n_squared():
    model, loss_fn = _mlp([16, 64, 64, 4], batch=16, train_steps=5)
    n = sum(p.size for p in model.parameters())
    assert n > 5000
    (vals, vecs), peak = _traced_peak(lambda: hessian_eigs(loss_fn, model.parameters(), k=3,
                                                           return_eigenvectors=True))
    # the old code allocated the (n + 1) x n basis: peak >= n^2 float64s (243 MB here)
    assert peak < n * n * 8 / 20, f"peak {peak / 1e6:.1f} MB, n^2 float64s {n * n * 8 / 1e6:.0f} MB"
    H = HessianOperator(loss_fn, model.parameters())
    for lam, v in zip(vals, vecs.T):
        np.testing.assert_allclose(H.matvec(v), lam * v, atol=1e-8 * abs(vals).max())


def _matrix(n, seed=0):
    """A symmetric matrix with a known spectrum: clustered bulk, a few outliers at both ends."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    lam = np.sort(np.r_[rng.uniform(-1, 1, n - 10), [-9, -7, -5, -3, -2, 2, 3, 4, 6, 8.5]])
    return (Q * lam) @ Q.T, lam


@pytest.mark.parametrize("which", ["LA", "SA", "LM", "BE"])
def test_thick_restart_finds_the_wanted_eigenpairs_with_restarts(which):
    A, lam = _matrix(300)
    theta, Y, products, converged = thick_restart_lanczos(lambda v: A @ v, 300, 5, which,
                                                          ncv=12, tol=1e-12)
    assert converged
    assert 12 < products < 300  # restarted (more than one basis), far fewer than n steps
    order = np.argsort(np.abs(lam))
    expected = {"LA": lam[-5:], "SA": lam[:5], "LM": np.sort(lam[order[-5:]]),
                "BE": np.r_[lam[:2], lam[-3:]]}[which]
    np.testing.assert_allclose(theta, expected, rtol=1e-10)
    np.testing.assert_allclose(A @ Y, Y * theta, atol=1e-10)
    np.testing.assert_allclose(Y.T @ Y, np.eye(5), atol=1e-10)


def test_budget_and_ncv_checks(monkeypatch):
    A, lam = _matrix(200)
    theta, _, products, converged = thick_restart_lanczos(lambda v: A @ v, 200, 3, "LA",
                                                          ncv=8, tol=1e-14, max_products=10)
    assert products == 10 and not converged
    w = cr.tensor(np.arange(1.0, 31.0), requires_grad=True)
    loss = lambda: (w * w * w).sum()  # H = diag(6 w)
    np.testing.assert_allclose(hessian_eigs(loss, [w], k=2, ncv=5), [174.0, 180.0])
    np.testing.assert_allclose(hessian_eigs(loss, [w], k=30), 6 * np.arange(1.0, 31.0))
    # the default budget is large; a run cut short by it says so
    import chainrule.inspect.curvature as curvature

    real = curvature.thick_restart_lanczos
    monkeypatch.setattr(curvature, "thick_restart_lanczos",
                        lambda *a: real(*a[:6], 3, *a[7:]))
    with pytest.warns(RuntimeWarning, match="did not converge to tol=1e-10 in 400 Hessian"):
        hessian_eigs(loss, [w], k=2, ncv=4)
    monkeypatch.undo()
    with pytest.raises(ValueError, match="ncv must be an integer with k < ncv"):
        hessian_eigs(loss, [w], k=4, ncv=3)
    with pytest.raises(ValueError, match="max_steps must be a positive integer; got 0"):
        hessian_eigs(loss, [w], k=1, max_steps=0)
