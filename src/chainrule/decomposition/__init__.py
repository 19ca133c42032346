"""Matrix decompositions as scikit-learn transformers: PCA (eigenvectors of the covariance).

scikit-learn is imported here, on first use of cr.decomposition, never by `import chainrule`.
"""

from chainrule.decomposition.pca import PCA

__all__ = ["PCA"]
