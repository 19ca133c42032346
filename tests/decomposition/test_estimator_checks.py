"""scikit-learn's own estimator checks for PCA, with each solver and with whitening."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from chainrule.decomposition import PCA


@parametrize_with_checks([PCA(), PCA(solver="eig"), PCA(n_components=2, whiten=True),
                          PCA(n_components=0.9, solver="eig")])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
