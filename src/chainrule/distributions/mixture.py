"""MixtureSameFamily: p(x) = sum_k w_k p_k(x), components of one family batched along an axis."""

import numpy as np

from chainrule.core.tensor import from_array
from chainrule.distributions.discrete import Categorical
from chainrule.distributions.distribution import Distribution
from chainrule.ops.arithmetic import to_tensor
from chainrule.ops.special import logsumexp


class MixtureSameFamily(Distribution):
    """p(x) = sum_k w_k p_k(x); log p(x) = logsumexp_k(log w_k + log p_k(x)).

    `mixture_distribution` is a Categorical over K components; `component_distribution` has
    K as its last batch axis (PyTorch's semantics).

        >>> import chainrule as cr
        >>> D = cr.distributions
        >>> p = D.MixtureSameFamily(D.Categorical(probs=[0.5, 0.5]), D.Normal([-3., 3.], 1.))
        >>> p.mean.item()
        0.0
    """

    def __init__(self, mixture_distribution, component_distribution, validate_args=None):
        if not isinstance(mixture_distribution, Categorical):
            raise TypeError("MixtureSameFamily: mixture_distribution must be a Categorical; "
                            f"got {type(mixture_distribution).__name__}")
        if not isinstance(component_distribution, Distribution):
            raise TypeError("MixtureSameFamily: component_distribution must be a Distribution; "
                            f"got {type(component_distribution).__name__}")
        cb, mb = component_distribution.batch_shape, mixture_distribution.batch_shape
        k = mixture_distribution.param_shape[-1]
        if not cb or cb[-1] != k or mb != cb[:-1]:
            raise ValueError(f"MixtureSameFamily: component batch_shape {cb} must be the "
                             f"mixture batch_shape {mb} plus the number of components ({k},)")
        self.mixture_distribution = mixture_distribution
        self.component_distribution = component_distribution
        super().__init__(cb[:-1], component_distribution.event_shape,
                         validate_args=validate_args)

    def _weights(self):
        w = self.mixture_distribution.probs
        return w.reshape(w.shape + (1,) * len(self.event_shape))

    @property
    def mean(self):
        """E[X] = sum_k w_k mu_k."""
        axis = -1 - len(self.event_shape)
        return (self._weights() * self.component_distribution.mean).sum(axis)

    @property
    def variance(self):
        """Var X = sum_k w_k sigma_k^2 + sum_k w_k (mu_k - mu)^2 (law of total variance)."""
        axis = -1 - len(self.event_shape)
        w, comp = self._weights(), self.component_distribution
        d = comp.mean - self.mean.unsqueeze(axis)
        return (w * comp.variance).sum(axis) + (w * d * d).sum(axis)

    def _pad(self, x):
        return to_tensor(x).unsqueeze(-1 - len(self.event_shape))

    def log_prob(self, value):
        """log p(x) = logsumexp_k(log w_k + log p_k(x))."""
        lp = self.component_distribution.log_prob(self._pad(value))
        return logsumexp(lp + self.mixture_distribution.logits, axis=-1)

    def cdf(self, value):
        """F(x) = sum_k w_k F_k(x)."""
        return (self.component_distribution.cdf(self._pad(value))
                * self.mixture_distribution.probs).sum(-1)

    def sample(self, sample_shape=()):
        """Pick a component k ~ w, then draw from p_k."""
        k = self.mixture_distribution.sample(sample_shape)._data
        x = self.component_distribution.sample(sample_shape)._data
        n_event = len(self.event_shape)
        idx = k.reshape(k.shape + (1,) * (1 + n_event))
        idx = np.broadcast_to(idx, k.shape + (1,) + self.event_shape)
        picked = np.take_along_axis(x, idx, axis=-1 - n_event)
        return from_array(np.squeeze(picked, axis=-1 - n_event))
