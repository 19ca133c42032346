"""chainrule.ops.gamma: lgamma digamma polygamma lbeta ndtr ndtri xlogy against scipy.special,
first and second derivatives against finite differences, dtypes."""

import numpy as np
import pytest
import scipy.special as sp

import chainrule as cr
from chainrule.ops import gamma as G

X = np.array([0.3, 1.0, 2.5, 7.0])
ROWS = [
    ("lgamma", G.lgamma, sp.gammaln, X),
    ("digamma", G.digamma, sp.digamma, X),
    ("trigamma", G.trigamma, lambda x: sp.polygamma(1, x), X),
    ("polygamma2", lambda x: G.polygamma(2, x), lambda x: sp.polygamma(2, x), X),
    ("ndtr", G.ndtr, sp.ndtr, np.array([-9.0, -1.0, 0.0, 2.5])),
    ("ndtri", G.ndtri, sp.ndtri, np.array([1e-6, 0.2, 0.5, 0.97])),
]


@pytest.mark.parametrize("name, fn, ref, x", ROWS, ids=[r[0] for r in ROWS])
def test_forward_derivatives_and_dtypes(name, fn, ref, x):
    np.testing.assert_allclose(fn(cr.tensor(x)).numpy(), ref(x), rtol=1e-12)
    assert fn(cr.tensor(x.astype(np.float32))).dtype == np.float32
    xt = cr.tensor(x if name != "ndtri" else np.array([0.2, 0.5, 0.7]), requires_grad=True)
    assert cr.gradcheck(fn, [xt])
    assert cr.gradgradcheck(fn, [xt])


def test_lbeta_and_xlogy():
    a, b = np.array([0.5, 2.0, 7.5]), np.array([1.5, 0.3, 2.0])
    np.testing.assert_allclose(G.lbeta(cr.tensor(a), cr.tensor(b)).numpy(), sp.betaln(a, b),
                               rtol=1e-12)
    x, y = np.array([0.0, 0.0, 0.5, 2.0]), np.array([0.0, 0.3, 0.0, 1.5])
    np.testing.assert_array_equal(G.xlogy(cr.tensor(x), cr.tensor(y)).numpy(), sp.xlogy(x, y))
    xt = cr.tensor([0.0, 0.4, 2.0], requires_grad=True)
    yt = cr.tensor([0.0, 0.3, 1.5], requires_grad=True)
    G.xlogy(xt, yt).sum().backward()  # 0 log 0 has finite gradients in both arguments
    assert np.isfinite(xt.grad.numpy()).all() and np.isfinite(yt.grad.numpy()).all()
    assert cr.gradgradcheck(G.xlogy, [cr.tensor([0.2, 3.0], requires_grad=True),
                                      cr.tensor([0.5, 1.5], requires_grad=True)])


def test_polygamma_order_is_checked():
    with pytest.raises(ValueError, match="polygamma: n must be a non-negative integer; got -1"):
        G.polygamma(-1, cr.tensor(1.0))
