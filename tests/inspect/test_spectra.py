"""Spectra: condition numbers equal numpy.linalg.cond; powers of A explode or vanish with rho(A)."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.inspect import (
    jacobian_spectrum,
    matrix_power_norms,
    spectral_radius,
    spectrum,
    weight_spectra,
)


def test_condition_numbers_equal_numpy():
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 5), nn.ReLU(), nn.Linear(5, 3), nn.Linear(3, 7)).double()
    spectra = weight_spectra(model)
    assert [s.name for s in spectra] == ["0.weight", "2.weight", "3.weight"]
    for s, (_, p) in zip(spectra, [(n, p) for n, p in model.named_parameters() if p.ndim == 2]):
        W = p.numpy()
        np.testing.assert_allclose(s.condition_number, np.linalg.cond(W), rtol=1e-12)
        np.testing.assert_allclose(s.singular_values, np.linalg.svd(W, compute_uv=False))
        assert s.spectral_norm == s.singular_values[0] and s.shape == W.shape
        assert np.all(np.diff(s.singular_values) <= 0)
    assert spectra[0].eigenvalues is not None and spectra[1].eigenvalues is None
    np.testing.assert_allclose(np.sort_complex(spectra[0].eigenvalues.astype(complex)),
                               np.sort_complex(np.linalg.eigvals(model[0].weight.numpy())))


def test_singular_matrix_has_infinite_condition_number():
    s = spectrum(np.array([[1.0, 2.0], [2.0, 4.0]]) * 0 + np.array([[1.0, 0.0], [0.0, 0.0]]))
    assert s.condition_number == float("inf")
    with pytest.raises(ValueError, match="spectrum: expected a matrix"):
        spectrum(np.ones(3))


@pytest.mark.parametrize("rho", [1.2, 0.8])
def test_repeated_multiplication_explodes_or_vanishes(rho):
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    A = Q @ np.diag([rho, 0.5, 0.4, 0.3, 0.2, 0.1]) @ Q.T
    assert spectral_radius(A) == pytest.approx(rho)
    norms = matrix_power_norms(A, 100)
    if rho > 1:
        assert norms[-1] > 1e6  # grows like 1.2^100 ~ 8e7
    else:
        assert norms[-1] < 1e-8  # decays like 0.8^100 ~ 2e-10
    # the growth rate per step tends to the spectral radius
    assert norms[-1] / norms[-2] == pytest.approx(rho, rel=1e-6)


def test_jacobian_spectrum_matches_explicit_jacobian():
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3)).double()
    X = cr.randn(5, 4).double()
    s = jacobian_spectrum(model, X)
    assert s.shape == (5, 3)
    for n in range(5):
        J = cr.jacobian(lambda x: model(x.reshape(1, 4)).reshape(3))(X[n]).numpy()
        np.testing.assert_allclose(s[n], np.linalg.svd(J, compute_uv=False), rtol=1e-10)
