"""Information shared by two variables, from a joint table p(x, y) or from paired samples.

I(X; Y) = H(X) + H(Y) - H(X, Y) = KL(p(x, y) || p(x) p(y)): zero exactly when X and Y are
independent. The joint table has X along axis -2 (rows) and Y along axis -1 (columns).
"""

import numpy as np

from chainrule.core.tensor import from_array
from chainrule.info.entropy import _scaled, nonnegative, probabilities
from chainrule.ops.gamma import xlogy


def _joint(op, joint):
    joint = nonnegative(op, joint, "joint")
    if joint.ndim < 2:
        raise ValueError(f"{op}: joint must be a table p(x, y) of shape (..., n_x, n_y); got "
                         f"shape {joint.shape}")
    n = joint.shape[-2] * joint.shape[-1]
    probabilities(op, joint.reshape(joint.shape[:-2] + (n,)), -1, "joint")
    return joint


def joint_entropy(joint, base=None):
    """H(X, Y) = -sum_xy p(x, y) log p(x, y)."""
    p = _joint("joint_entropy", joint)
    return _scaled(-xlogy(p, p).sum((-2, -1)), "joint_entropy", base)


def conditional_entropy(joint, base=None):
    """H(Y | X) = H(X, Y) - H(X): the uncertainty left in Y (columns) once X (rows) is known."""
    p = _joint("conditional_entropy", joint)
    px = p.sum(-1)
    h = -xlogy(p, p).sum((-2, -1)) + xlogy(px, px).sum(-1)
    return _scaled(h, "conditional_entropy", base)


def mutual_information(joint, base=None):
    """I(X; Y) = sum_xy p(x, y) log(p(x, y) / (p(x) p(y))) >= 0, from a joint table.

        >>> import chainrule as cr
        >>> cr.info.mutual_information([[0.5, 0.0], [0.0, 0.5]], base=2).item()  # X = Y: 1 bit
        1.0
    """
    p = _joint("mutual_information", joint)
    px = p.sum(-1, keepdims=True)
    py = p.sum(-2, keepdims=True)
    mi = (xlogy(p, p) - xlogy(p, px * py)).sum((-2, -1))
    return _scaled(mi, "mutual_information", base)


def contingency_table(x, y):
    """The joint frequency table of paired discrete samples: counts[i, j] / n.

    Rows follow the sorted distinct values of x, columns those of y.
    """
    x = np.asarray(x._data if hasattr(x, "_data") else x).reshape(-1)
    y = np.asarray(y._data if hasattr(y, "_data") else y).reshape(-1)
    if x.shape != y.shape or x.size == 0:
        raise ValueError(f"contingency_table: x and y must be non-empty and paired; got "
                         f"{x.size} and {y.size} samples")
    _, xi = np.unique(x, return_inverse=True)
    _, yi = np.unique(y, return_inverse=True)
    counts = np.zeros((xi.max() + 1, yi.max() + 1))
    np.add.at(counts, (xi, yi), 1)
    return from_array(counts / x.size)


def mutual_info_score(x, y, base=None):
    """I(X; Y) of the empirical joint of paired samples (sklearn.metrics.mutual_info_score)."""
    return mutual_information(contingency_table(x, y), base)
