"""float32 inputs of magnitude up to 1e4: finite values and gradients equal to float64 ones."""

import numpy as np
import pytest
import scipy.special

import chainrule as cr

X = np.array([[-1e4, -50.0, 0.0, 3.0, 1e4], [1e4, 1e4 - 1, -1e4, 20.0, -3.0]])

CASES = {
    "logsumexp": (lambda x: x.logsumexp(axis=1), lambda x: scipy.special.logsumexp(x, axis=1)),
    "softmax": (lambda x: x.softmax(1), lambda x: scipy.special.softmax(x, axis=1)),
    "log_softmax": (lambda x: x.log_softmax(1), lambda x: scipy.special.log_softmax(x, axis=1)),
    "sigmoid": (cr.sigmoid, scipy.special.expit),
    "softplus": (cr.softplus, lambda x: np.logaddexp(0, x)),
}


@pytest.mark.parametrize("name", CASES)
def test_float32_extremes_are_finite_and_match_float64(name):
    fn, ref = CASES[name]
    x32 = cr.tensor(X.astype(np.float32), requires_grad=True)
    x64 = cr.tensor(X, requires_grad=True)
    y32, y64 = fn(x32), fn(x64)
    assert np.isfinite(y32.numpy()).all()
    np.testing.assert_allclose(y32.numpy(), ref(X), rtol=1e-6, atol=1e-6)
    w = np.random.default_rng(0).standard_normal(y64.shape)
    (y32 * w.astype(np.float32)).sum().backward()
    (y64 * w).sum().backward()
    assert np.isfinite(x32.grad.numpy()).all()
    np.testing.assert_allclose(x32.grad.numpy(), x64.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_logsumexp_of_all_minus_inf_is_minus_inf():
    y = cr.logsumexp(cr.tensor([-np.inf, -np.inf]))
    assert y.item() == -np.inf


def test_elu_gradient_has_no_nan_from_the_inactive_branch():
    x = cr.tensor([1e4, -1e4, 2.0], requires_grad=True)
    cr.elu(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1, 0, 1])
