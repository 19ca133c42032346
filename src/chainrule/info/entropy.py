"""Entropy as expected surprise: entropy, cross_entropy, perplexity (Tensor in, Tensor out).

Probability vectors lie along `axis` (the last one by default; scipy.stats.entropy uses
axis=0). They are used as given, not renormalised as SciPy does: a vector whose sum is off 1 by
more than 1e-3 is a ValueError, so counts are not mistaken for probabilities. 0 log 0 = 0.
"""

import math

import numpy as np

from chainrule.core.tensor import Tensor
from chainrule.ops.arithmetic import to_tensor
from chainrule.ops.elementwise import exp
from chainrule.ops.gamma import xlogy

_SUM_TOL = 1e-3


def _float(x, like=None):
    t = to_tensor(x, like)
    if t.dtype.kind != "f":
        from chainrule.core.mode import get_default_dtype

        t = t.astype(get_default_dtype())
    return t


def nonnegative(op, x, name="p"):
    """x as a floating Tensor; ValueError naming `op` if an entry is negative or NaN."""
    x = _float(x)
    bad = ~(x._data >= 0)
    if bad.any():
        raise ValueError(f"{op}: {name} must be non-negative; got {x._data[bad][:5]}")
    return x


def probabilities(op, p, axis, name="p"):
    """p as a floating Tensor of probability vectors along `axis` (checked, not normalised)."""
    p = nonnegative(op, p, name)
    if p.ndim == 0:
        raise ValueError(f"{op}: {name} must have at least one dimension (the outcomes); "
                         "got a scalar")
    total = p._data.sum(axis=axis)
    off = np.abs(total - 1) > _SUM_TOL
    if off.any():
        raise ValueError(f"{op}: {name} must sum to 1 along axis {axis}; got sums "
                         f"{np.atleast_1d(total)[np.atleast_1d(off)][:5]}; normalise with "
                         f"{name} / {name}.sum({axis}, keepdims=True)")
    return p


def log_base(op, base):
    """log(base) for converting nats; base None means e (nats), 2 gives bits."""
    if base is None:
        return 1.0
    if isinstance(base, bool) or not isinstance(base, (int, float, np.number)) \
            or not base > 0 or base == 1:
        raise ValueError(f"{op}: base must be a positive number other than 1 (2 for bits, "
                         f"None or e for nats); got {base!r}")
    return math.log(base)


def _scaled(h, op, base):
    c = log_base(op, base)
    return h if c == 1.0 else h / c


def entropy(p, base=None, axis=-1):
    """Shannon entropy H(p) = -sum_i p_i log p_i (0 log 0 = 0); in bits with base=2.

    A Distribution gives its (differential) entropy, e.g. cr.info.entropy(Normal(0, 1)).

        >>> import chainrule as cr
        >>> cr.info.entropy(cr.tensor([0.5, 0.5]), base=2).item()  # a fair coin: 1 bit
        1.0
    """
    if _is_distribution(p):
        return _scaled(p.entropy(), "entropy", base)
    p = probabilities("entropy", p, axis)
    return _scaled(-xlogy(p, p).sum(axis), "entropy", base)


def cross_entropy(p, q, base=None, axis=-1):
    """Cross-entropy H(p, q) = -sum_i p_i log q_i = H(p) + KL(p || q); +inf where q_i = 0 < p_i.

    p and q are probabilities (for logits and class indices use cr.nn.functional.cross_entropy).
    """
    p = probabilities("cross_entropy", p, axis)
    q = probabilities("cross_entropy", q, axis, name="q")
    return _scaled(-xlogy(p, q).sum(axis), "cross_entropy", base)


def perplexity(p, q=None, axis=-1):
    """Perplexity exp(H(p)) (or exp(H(p, q)) when q is given): the effective number of outcomes."""
    h = entropy(p, axis=axis) if q is None else cross_entropy(p, q, axis=axis)
    return exp(h)


def _is_distribution(x):
    if isinstance(x, (Tensor, np.ndarray, list, tuple, float, int)):
        return False
    from chainrule.distributions import Distribution

    return isinstance(x, Distribution)
