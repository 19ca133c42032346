"""PCA: the eigenvectors of the covariance matrix, ordered by the variance they explain."""

import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

EPS = np.finfo(np.float64).eps


class PCA(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Principal component analysis: project centred X on the top eigenvectors of its covariance.

    With X_c = X - mean, the covariance is S = X_c^T X_c / (n - 1). Its unit eigenvectors v_k
    (components_, rows) are the orthogonal directions of largest variance, and the eigenvalue
    lambda_k = v_k^T S v_k (explained_variance_) is the variance of the data along v_k.
    Projecting on the first k of them keeps the most variance, equivalently loses the least
    squared reconstruction error, of any k-dimensional linear projection.

    solver: 'svd' (default): X_c = U diag(s) V^T, so S = V diag(s^2 / (n - 1)) V^T: the rows of
    V^T, never forming S (which would square cond(X_c)). 'eig': np.linalg.eigh(S), the textbook
    route, cheaper when n_samples >> n_features.
    n_components: None (min(n_samples, n_features)), an int k, or a float in (0, 1): the
    fewest components whose explained_variance_ratio_ adds up to more than it.
    whiten: transform divides each coordinate by sqrt(explained_variance_), giving unit variance.

    Signs follow scikit-learn: each component's largest-magnitude entry is positive.
    Fitted attributes: components_ (k, n_features), explained_variance_, explained_variance_ratio_,
    singular_values_, mean_, n_components_, noise_variance_ (mean of the discarded eigenvalues),
    n_features_in_.

        >>> import numpy as np, chainrule as cr
        >>> X = np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
        >>> pca = cr.decomposition.PCA(n_components=1).fit(X)
        >>> pca.components_.round(4).tolist(), pca.explained_variance_.round(6).tolist()
        ([[0.7071, 0.7071]], [2.0])
    """

    def __init__(self, n_components=None, *, solver="svd", whiten=False):
        self.n_components = n_components
        self.solver = solver
        self.whiten = whiten

    def _check_params(self):
        if self.solver not in ("svd", "eig"):
            raise ValueError(f"PCA: solver must be 'svd' or 'eig'; got {self.solver!r}")
        k = self.n_components
        if k is None:
            return
        if isinstance(k, bool) or not isinstance(k, numbers.Real):
            raise TypeError(f"PCA: n_components must be None, an int or a float in (0, 1); got "
                            f"{k!r} of type {type(k).__name__}")
        if isinstance(k, numbers.Integral):
            if k < 1:
                raise ValueError(f"PCA: n_components must be >= 1; got {k}")
        elif not 0 < k < 1:
            raise ValueError(f"PCA: a float n_components is a fraction of the variance and must "
                             f"be in (0, 1); got {k}")

    def fit(self, X, y=None):
        """Find the principal components of X; returns self."""
        self._check_params()
        X = validate_data(self, X, dtype=np.float64, ensure_min_samples=2)
        n, p = X.shape
        k_max = min(n, p)
        if isinstance(self.n_components, numbers.Integral) and self.n_components > k_max:
            raise ValueError(f"PCA: n_components={self.n_components} must be between 1 and "
                             f"min(n_samples, n_features)={k_max}")
        self.mean_ = X.mean(axis=0)
        Xc = X - self.mean_
        if self.solver == "svd":
            _, s, components = np.linalg.svd(Xc, full_matrices=False)
            variance = s**2 / (n - 1)
        else:
            eigenvalues, eigenvectors = np.linalg.eigh(Xc.T @ Xc / (n - 1))
            order = np.argsort(eigenvalues)[::-1][:k_max]  # eigh sorts ascending
            variance = np.clip(eigenvalues[order], 0.0, None)  # rounding can make 0 negative
            components = eigenvectors[:, order].T
            s = np.sqrt(variance * (n - 1))
        # sign convention (scikit-learn's svd_flip on V^T): largest |entry| of each row positive
        biggest = np.argmax(np.abs(components), axis=1)
        signs = np.sign(components[np.arange(components.shape[0]), biggest])
        components = components * np.where(signs == 0, 1.0, signs)[:, None]

        total = np.sum(Xc**2) / (n - 1)  # trace of the covariance: the total variance
        ratio = variance / total if total > 0 else np.zeros_like(variance)
        k = self.n_components
        if k is None:
            k = k_max
        elif not isinstance(k, numbers.Integral):
            k = min(int(np.searchsorted(np.cumsum(ratio), k, side="right")) + 1, k_max)
        self.n_components_ = int(k)
        self.components_ = components[:k]
        self.explained_variance_ = variance[:k]
        self.explained_variance_ratio_ = ratio[:k]
        self.singular_values_ = s[:k]
        self.noise_variance_ = float(np.mean(variance[k:k_max])) if k < k_max else 0.0
        return self

    def _scale(self):
        # a component with zero variance cannot be whitened: divide by eps rather than 0
        return np.maximum(np.sqrt(self.explained_variance_), EPS)

    def transform(self, X):
        """Coordinates in the principal basis, (X - mean_) @ components_.T (whitened: / sqrt
        of explained_variance_); shape (n_samples, n_components_)."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        Z = (X - self.mean_) @ self.components_.T
        return Z / self._scale() if self.whiten else Z

    def inverse_transform(self, X):
        """Back to feature space: Z @ components_ + mean_, the projection of the original X
        onto the principal subspace (exact when n_components_ = min(n_samples, n_features))."""
        check_is_fitted(self)
        Z = check_array(X, dtype=np.float64)
        if Z.shape[1] != self.n_components_:
            raise ValueError(f"PCA.inverse_transform: X has {Z.shape[1]} columns, but PCA has "
                             f"{self.n_components_} components")
        if self.whiten:
            Z = Z * self._scale()
        return Z @ self.components_ + self.mean_

    @property
    def _n_features_out(self):
        return self.components_.shape[0]
