"""Probability distributions with PyTorch's names and semantics (torch.distributions).

    >>> import chainrule as cr
    >>> D = cr.distributions
    >>> p = D.Normal(0.0, 1.0)
    >>> x = p.sample((3,))                       # shape (3,), from cr.manual_seed's generator
    >>> D.kl_divergence(p, D.Normal(1.0, 1.0)).item()
    0.5
"""

from chainrule.distributions import constraints
from chainrule.distributions.beta_gamma import Beta, Gamma
from chainrule.distributions.continuous import Exponential, Normal, Uniform
from chainrule.distributions.discrete import Bernoulli, Categorical
from chainrule.distributions.distribution import Distribution
from chainrule.distributions.kl import kl_divergence, register_kl
from chainrule.distributions.mixture import MixtureSameFamily
from chainrule.distributions.multivariate import Independent, MultivariateNormal

__all__ = [
    "Bernoulli", "Beta", "Categorical", "Distribution", "Exponential", "Gamma", "Independent",
    "MixtureSameFamily", "MultivariateNormal", "Normal", "Uniform", "constraints",
    "kl_divergence", "register_kl",
]
