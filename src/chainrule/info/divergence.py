"""Divergences between probability vectors: rel_entr, kl_divergence, js_divergence, jensenshannon.

KL is asymmetric: KL(p || q) punishes q for missing mass where p has it (+inf where
q_i = 0 < p_i, documented and intended), while KL(q || p) punishes q for putting mass where p
has none. JS is the symmetric, bounded (<= log 2) average of the two KLs to the midpoint.
"""

import math

from chainrule.info.entropy import (
    _is_distribution,
    _scaled,
    nonnegative,
    probabilities,
)
from chainrule.ops.gamma import xlogy


def rel_entr(x, y):
    """Elementwise x log(x / y) (scipy.special.rel_entr): 0 at x = 0, +inf at x > 0 = y."""
    x = nonnegative("rel_entr", x, "x")
    y = nonnegative("rel_entr", y, "y")
    return xlogy(x, x) - xlogy(x, y)


def kl_divergence(p, q, base=None, axis=-1):
    """KL(p || q) = sum_i p_i log(p_i / q_i) >= 0; +inf where q_i = 0 < p_i.

    Two Distributions give their closed form (cr.distributions.kl_divergence).

        >>> import chainrule as cr
        >>> round(cr.info.kl_divergence([0.5, 0.5], [0.9, 0.1]).item(), 4)
        0.5108
    """
    if _is_distribution(p):
        from chainrule.distributions import kl_divergence as closed_form

        return _scaled(closed_form(p, q), "kl_divergence", base)
    p = probabilities("kl_divergence", p, axis)
    q = probabilities("kl_divergence", q, axis, name="q")
    return _scaled((xlogy(p, p) - xlogy(p, q)).sum(axis), "kl_divergence", base)


def js_divergence(p, q, base=None, axis=-1):
    """Jensen-Shannon divergence JS = KL(p || m) / 2 + KL(q || m) / 2, m = (p + q) / 2.

    Symmetric and finite (at most log 2, 1 bit) even for disjoint supports.
    """
    p = probabilities("js_divergence", p, axis)
    q = probabilities("js_divergence", q, axis, name="q")
    # log m = log(p + q) - log 2: p + q cannot underflow where (p + q) / 2 can (subnormal p)
    s = p + q
    js = 0.5 * (xlogy(p, p) + xlogy(q, q) - xlogy(s, s) + s * math.log(2.0)).sum(axis)
    return _scaled(js, "js_divergence", base)


def jensenshannon(p, q, base=None, axis=-1):
    """Jensen-Shannon distance sqrt(JS(p, q)) (scipy.spatial.distance.jensenshannon), a metric."""
    return js_divergence(p, q, base, axis).clip(min=0.0).sqrt()
