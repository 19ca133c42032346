"""PCA against scikit-learn on digits (acceptance 1), its algebra, and its errors."""

import doctest

import numpy as np
import pytest
import sklearn.decomposition as skd
from sklearn.datasets import load_digits, load_iris
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline

from chainrule.decomposition import PCA, pca
from chainrule.linear import LogisticRegression


@pytest.fixture(scope="module")
def digits():
    return load_digits(return_X_y=True)[0]


def match_up_to_sign(ours, theirs):
    """Each row of ours equals +-1 times the same row of theirs; returns the signs."""
    signs = np.sign(np.sum(ours * theirs, axis=1))
    np.testing.assert_allclose(ours, signs[:, None] * theirs, atol=1e-8)
    return signs


@pytest.mark.parametrize("solver", ["svd", "eig"])
@pytest.mark.parametrize("n_components", [10, 40])
def test_matches_sklearn_on_digits(digits, solver, n_components):
    ours = PCA(n_components, solver=solver).fit(digits)
    theirs = skd.PCA(n_components, svd_solver="full").fit(digits)
    signs = match_up_to_sign(ours.components_, theirs.components_)
    assert np.all(signs == 1)  # same sign convention (largest |entry| positive), in fact
    for name in ("explained_variance_", "explained_variance_ratio_", "singular_values_",
                 "mean_"):
        np.testing.assert_allclose(getattr(ours, name), getattr(theirs, name), rtol=1e-9,
                                   atol=1e-12, err_msg=name)
    assert ours.noise_variance_ == pytest.approx(theirs.noise_variance_, rel=1e-9)
    np.testing.assert_allclose(ours.transform(digits), theirs.transform(digits), atol=1e-8)


def test_whitening_and_fractional_n_components_match_sklearn(digits):
    ours = PCA(0.9, whiten=True).fit(digits)
    theirs = skd.PCA(0.9, whiten=True, svd_solver="full").fit(digits)
    assert ours.n_components_ == theirs.n_components_ == 21
    Z = ours.transform(digits)
    np.testing.assert_allclose(Z, theirs.transform(digits), atol=1e-8)
    np.testing.assert_allclose(Z.var(axis=0, ddof=1), 1.0, rtol=1e-10)  # whitened
    np.testing.assert_allclose(ours.inverse_transform(Z), theirs.inverse_transform(Z),
                               atol=1e-8)


def test_components_are_the_eigenvectors_of_the_covariance(digits):
    model = PCA(8).fit(digits)
    S = np.cov(digits, rowvar=False)
    V = model.components_
    np.testing.assert_allclose(V @ V.T, np.eye(8), atol=1e-12)  # orthonormal
    np.testing.assert_allclose(S @ V.T, V.T * model.explained_variance_, atol=1e-8)
    assert np.all(np.diff(model.explained_variance_) <= 0)
    # explained variance = variance of the projected data; ratios of the full set sum to 1
    np.testing.assert_allclose(model.transform(digits).var(axis=0, ddof=1),
                               model.explained_variance_, rtol=1e-10)
    full = PCA().fit(digits)
    assert full.explained_variance_ratio_.sum() == pytest.approx(1.0)


def test_inverse_transform_is_exact_with_all_components_and_optimal_with_fewer():
    X = load_iris().data
    full = PCA().fit(X)
    np.testing.assert_allclose(full.inverse_transform(full.transform(X)), X, atol=1e-12)
    two = PCA(2).fit(X)
    residual = X - two.inverse_transform(two.transform(X))
    # the squared reconstruction error is the discarded variance
    assert np.sum(residual**2) / (len(X) - 1) == pytest.approx(
        full.explained_variance_[2:].sum(), rel=1e-10)


def test_rank_deficient_data_and_more_features_than_samples():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(6, 3)) @ rng.normal(size=(3, 10))  # rank 3, 10 features
    for solver in ("svd", "eig"):
        model = PCA(solver=solver).fit(X)
        assert model.n_components_ == 6
        np.testing.assert_allclose(model.explained_variance_[3:], 0, atol=1e-10)
    a, b = PCA(3, solver="svd").fit(X), PCA(3, solver="eig").fit(X)
    match_up_to_sign(a.components_, b.components_)


def test_pipeline_and_feature_names(digits):
    y = load_digits().target
    clf = make_pipeline(PCA(20, whiten=True), LogisticRegression(max_iter=300)).fit(digits, y)
    assert clf.score(digits, y) > 0.9
    np.testing.assert_array_equal(PCA(3).fit(digits).get_feature_names_out(),
                                  ["pca0", "pca1", "pca2"])


def test_docstring_example():
    assert doctest.testmod(pca).failed == 0


@pytest.mark.parametrize("params, X_shape, error, match", [
    ({"n_components": 5}, (10, 3), ValueError, r"n_components=5 must be between 1 and "
                                               r"min\(n_samples, n_features\)=3"),
    ({"n_components": 0}, (10, 3), ValueError, "n_components must be >= 1"),
    ({"n_components": 1.5}, (10, 3), ValueError, r"must be in \(0, 1\)"),
    ({"n_components": "mle"}, (10, 3), TypeError, "n_components must be None, an int"),
    ({"solver": "arpack"}, (10, 3), ValueError, "solver must be 'svd' or 'eig'"),
    ({}, (1, 3), ValueError, "Found array with 1 sample"),
])
def test_errors(params, X_shape, error, match):
    X = np.random.default_rng(0).normal(size=X_shape)
    with pytest.raises(error, match=match):
        PCA(**params).fit(X)


def test_bad_input_errors():
    X = np.random.default_rng(0).normal(size=(10, 3))
    with pytest.raises(NotFittedError):
        PCA().transform(X)
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        PCA().fit(bad)
    model = PCA(2).fit(X)
    with pytest.raises(ValueError, match="X has 2 features, but PCA is expecting 3"):
        model.transform(X[:, :2])
    with pytest.raises(ValueError, match="X has 3 columns, but PCA has 2 components"):
        model.inverse_transform(X)
