"""KL(p || q) = E_p[log p(X) - log q(X)] in closed form, dispatched on the pair of types.

Register a new pair with `@register_kl(P, Q)` (PyTorch's API); the most specific registered
pair (by method resolution order) wins. KL is +inf when p puts mass where q has none.
"""

import math

import numpy as np

from chainrule.core.tensor import from_array
from chainrule.distributions.beta_gamma import Beta, Gamma
from chainrule.distributions.continuous import Exponential, Normal, Uniform
from chainrule.distributions.discrete import Bernoulli, Categorical, p_log_ratio
from chainrule.distributions.multivariate import Independent, MultivariateNormal
from chainrule.ops.elementwise import log, where
from chainrule.ops.gamma import digamma, lgamma, xlogy
from chainrule.ops.linalg import diagonal, triangular_solve
from chainrule.ops.special import softplus

_REGISTRY = {}
_EULER_GAMMA = 0.5772156649015329


def register_kl(type_p, type_q):
    """Decorator registering fn(p, q) as the closed form of KL(type_p || type_q)."""
    def decorator(fn):
        _REGISTRY[type_p, type_q] = fn
        return fn
    return decorator


def _dispatch(type_p, type_q):
    matches = [(p, q) for p, q in _REGISTRY if issubclass(type_p, p) and issubclass(type_q, q)]
    if not matches:
        return None
    best = min(matches, key=lambda pq: (type_p.__mro__.index(pq[0]),
                                        type_q.__mro__.index(pq[1])))
    return _REGISTRY[best]


def kl_divergence(p, q):
    """KL(p || q) = E_p[log p(X) - log q(X)] in nats; shape: the broadcast batch shapes.

        >>> import chainrule as cr
        >>> D = cr.distributions
        >>> round(D.kl_divergence(D.Normal(0., 1.), D.Normal(1., 1.)).item(), 6)
        0.5
    """
    fn = _dispatch(type(p), type(q))
    if fn is None:
        raise NotImplementedError(
            f"kl_divergence: no closed form registered for KL({type(p).__name__} || "
            f"{type(q).__name__}); register one with @register_kl, or estimate "
            "E_p[log p(X) - log q(X)] from p.sample()")
    return fn(p, q)


def _inf_like(t):
    return from_array(np.full(t.shape, np.inf, dtype=t.dtype))


@register_kl(Normal, Normal)
def _kl_normal_normal(p, q):
    """log(sq/sp) + (sp^2 + (mp - mq)^2) / (2 sq^2) - 1/2"""
    r = p.scale / q.scale
    t = (p.loc - q.loc) / q.scale
    return 0.5 * (r * r + t * t - 1) - log(r)


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(p, q):
    """p log(p/q) + (1-p) log((1-p)/(1-q)); +inf where q is 0 or 1 and p is not"""
    if p._logits is not None and q._logits is not None:  # stable in the logits
        lp, lq = p._logits, q._logits
        pp = p.probs
        return pp * (softplus(-lq) - softplus(-lp)) + (1 - pp) * (softplus(lq) - softplus(lp))
    a, b = p.probs, q.probs
    return xlogy(a, a) - xlogy(a, b) + xlogy(1 - a, 1 - a) - xlogy(1 - a, 1 - b)


@register_kl(Categorical, Categorical)
def _kl_categorical_categorical(p, q):
    """sum_k p_k log(p_k / q_k); 0 log 0 = 0, +inf where q_k = 0 < p_k"""
    if p._num_events != q._num_events:
        raise ValueError(f"kl_divergence: Categoricals over different numbers of categories; "
                         f"got {p._num_events} and {q._num_events}")
    if p._logits is not None and q._logits is not None:
        return p_log_ratio(p._logits, q._logits).sum(-1)
    a, b = p.probs, q.probs
    return (xlogy(a, a) - xlogy(a, b)).sum(-1)


@register_kl(Exponential, Exponential)
def _kl_exponential_exponential(p, q):
    """log(lp / lq) + lq / lp - 1"""
    r = q.rate / p.rate
    return r - 1 - log(r)


@register_kl(Uniform, Uniform)
def _kl_uniform_uniform(p, q):
    """log((hq - lq) / (hp - lp)) if [lp, hp] lies inside [lq, hq], else +inf"""
    kl = log((q.high - q.low) / (p.high - p.low))
    inside = (q.low <= p.low) & (p.high <= q.high)
    return where(inside.broadcast_to(kl.shape), kl, _inf_like(kl))


@register_kl(Gamma, Gamma)
def _kl_gamma_gamma(p, q):
    """(ap - aq) psi(ap) - lgamma(ap) + lgamma(aq) + aq log(bp / bq) + ap (bq - bp) / bp"""
    ap, bp, aq, bq = p.concentration, p.rate, q.concentration, q.rate
    return ((ap - aq) * digamma(ap) - lgamma(ap) + lgamma(aq) + aq * log(bp / bq)
            + ap * (bq - bp) / bp)


@register_kl(Beta, Beta)
def _kl_beta_beta(p, q):
    """log B(aq,bq) - log B(ap,bp) + (ap-aq) psi(ap) + (bp-bq) psi(bp) + (sq-sp) psi(sp), s = a+b"""
    ap, bp, aq, bq = p.concentration1, p.concentration0, q.concentration1, q.concentration0
    sp, sq = ap + bp, aq + bq
    return (lgamma(aq) + lgamma(bq) + lgamma(sp) - lgamma(ap) - lgamma(bp) - lgamma(sq)
            + (ap - aq) * digamma(ap) + (bp - bq) * digamma(bp) + (sq - sp) * digamma(sp))


@register_kl(MultivariateNormal, MultivariateNormal)
def _kl_mvn_mvn(p, q):
    """sum log diag Lq - sum log diag Lp + (|Lq^-1 Lp|_F^2 + |Lq^-1 (mq - mp)|^2 - d) / 2"""
    if p.event_shape != q.event_shape:
        raise ValueError(f"kl_divergence: MultivariateNormals of different dimensions; got "
                         f"event shapes {p.event_shape} and {q.event_shape}")
    d = p.event_shape[0]
    A = triangular_solve(q._L, p._L)
    m = triangular_solve(q._L, (q.loc - p.loc)[..., None])[..., 0]
    half_log_det = log(diagonal(q._L, 0, -2, -1)).sum(-1) - log(diagonal(p._L, 0, -2, -1)).sum(-1)
    return half_log_det + 0.5 * ((A * A).sum((-2, -1)) + (m * m).sum(-1) - d)


@register_kl(Independent, Independent)
def _kl_independent_independent(p, q):
    """sum over the reinterpreted axes of the base KL"""
    if p.reinterpreted_batch_ndims != q.reinterpreted_batch_ndims:
        raise NotImplementedError("kl_divergence: Independent distributions with different "
                                  "reinterpreted_batch_ndims")
    return p._reduce(kl_divergence(p.base_dist, q.base_dist))


@register_kl(Uniform, Normal)
def _kl_uniform_normal(p, q):
    """log(sqrt(2 pi) s / (h - l)) + ((h - l)^2 / 12 + ((h + l) / 2 - m)^2) / (2 s^2)"""
    w = p.high - p.low
    c = (p.high + p.low) / 2 - q.loc
    return (log(q.scale * math.sqrt(2 * math.pi) / w)
            + (w * w / 12 + c * c) / (2 * q.scale * q.scale))


@register_kl(Uniform, Exponential)
def _kl_uniform_exponential(p, q):
    """-log(h - l) - log rate + rate (h + l) / 2 for l >= 0, else +inf"""
    kl = -log(p.high - p.low) - log(q.rate) + q.rate * (p.high + p.low) / 2
    return where((p.low >= 0).broadcast_to(kl.shape), kl, _inf_like(kl))


@register_kl(Exponential, Gamma)
def _kl_exponential_gamma(p, q):
    """log l - 1 - a log b - (a - 1)(psi(1) - log l) + b / l + lgamma(a)"""
    lam, a, b = p.rate, q.concentration, q.rate
    return (log(lam) - 1 - a * log(b) - (a - 1) * (-_EULER_GAMMA - log(lam)) + b / lam
            + lgamma(a))


@register_kl(Gamma, Exponential)
def _kl_gamma_exponential(p, q):
    """KL(Gamma(a, b) || Gamma(1, rate))"""
    return _kl_gamma_gamma(p, Gamma(q.rate * 0 + 1, q.rate, validate_args=False))


def _infinite(p, q):
    """p puts mass where q has none: +inf"""
    kl = p.entropy() + q.entropy()  # right shape and dtype; the values are replaced
    return _inf_like(kl.detach())


for _p, _qs in ((Normal, (Uniform, Exponential, Gamma, Beta)),
                (Exponential, (Uniform, Beta)), (Gamma, (Uniform, Beta))):
    for _q in _qs:
        register_kl(_p, _q)(_infinite)
