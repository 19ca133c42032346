"""Discrete families, parameterised by probabilities or by logits: Bernoulli, Categorical."""

import numpy as np

from chainrule.core.tensor import from_array
from chainrule.distributions import constraints
from chainrule.distributions.distribution import Distribution, broadcast_all, noise
from chainrule.ops.arithmetic import to_tensor
from chainrule.ops.elementwise import log, log1p, where
from chainrule.ops.gamma import xlogy
from chainrule.ops.special import log_softmax, logsumexp, sigmoid, softmax, softplus


def _one_of(cls, probs, logits):
    if (probs is None) == (logits is None):
        got = "both" if probs is not None else "neither"
        raise ValueError(f"{cls}: pass exactly one of probs and logits; got {got}")


class Bernoulli(Distribution):
    """Bernoulli(p): P(X = 1) = p, P(X = 0) = 1 - p; p = sigmoid(logits)."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.boolean

    def __init__(self, probs=None, logits=None, validate_args=None):
        _one_of("Bernoulli", probs, logits)
        self._probs = self._logits = None
        if probs is not None:
            (self._probs,) = broadcast_all(probs, op="Bernoulli")
            param = self._probs
        else:
            (self._logits,) = broadcast_all(logits, op="Bernoulli")
            param = self._logits
        super().__init__(param.shape, validate_args=validate_args)
        self._check_params(probs=self._probs, logits=self._logits)

    @property
    def probs(self):
        """p = sigmoid(logits)."""
        return self._probs if self._probs is not None else sigmoid(self._logits)

    @property
    def logits(self):
        """log p - log(1 - p) (+-inf at p = 1, 0)."""
        if self._logits is not None:
            return self._logits
        with np.errstate(divide="ignore"):
            return log(self._probs) - log1p(-self._probs)

    _param = property(lambda self: self._probs if self._probs is not None else self._logits)
    mean = property(lambda self: self.probs, doc="E[X] = p.")
    variance = property(lambda self: self.probs * (1 - self.probs), doc="Var X = p (1 - p).")

    @property
    def mode(self):
        """1 where p > 1/2, 0 where p < 1/2, NaN at a tie (as PyTorch)."""
        p = self.probs._data
        return from_array(np.where(p == 0.5, np.nan, (p > 0.5)).astype(p.dtype))

    def sample(self, sample_shape=()):
        """X = 1[u < p], u ~ U(0, 1); floats 0. and 1. as in PyTorch."""
        shape = self._extended_shape(sample_shape)
        p = self.probs._data
        u = noise(shape, p.dtype, lambda rng, s: rng.random(s), self.probs)._data
        return from_array((u < p).astype(p.dtype))

    def log_prob(self, value):
        """log P(x) = x log p + (1 - x) log(1 - p) = x logits - softplus(logits)."""
        x = self._value("log_prob", value, self._param)
        if self._logits is not None:  # the stable form: no log of a rounded probability
            return x * self._logits - softplus(self._logits)
        return xlogy(x, self._probs) + xlogy(1 - x, 1 - self._probs)

    def entropy(self):
        """H = -p log p - (1 - p) log(1 - p) = softplus(logits) - p logits."""
        if self._logits is not None:
            return softplus(self._logits) - sigmoid(self._logits) * self._logits
        p = self._probs
        return -(xlogy(p, p) + xlogy(1 - p, 1 - p))

    def enumerate_support(self, expand=True):
        """The values 0., 1. along a new leading axis (broadcast to the batch if expand)."""
        values = np.arange(2, dtype=self._param.dtype).reshape((2,) + (1,) * len(self.batch_shape))
        if expand:
            values = np.broadcast_to(values, (2,) + self.batch_shape)
        return from_array(np.ascontiguousarray(values))


def p_log_ratio(logits_p, logits_q):
    """p_k (log p_k - log q_k) from logits (log q_k = 0 when q is None); 0 where p_k = 0."""
    lp = log_softmax(logits_p, axis=-1)
    dead = lp == -np.inf  # 0 log 0: keep -inf out of the product and its gradient
    zero = from_array(np.zeros((), dtype=lp.dtype))
    lp = where(dead, zero, lp)
    ratio = lp if logits_q is None else lp - log_softmax(logits_q, axis=-1)
    return where(dead, zero, softmax(logits_p, axis=-1) * ratio)


class Categorical(Distribution):
    """Categorical(p) over {0, ..., K-1}: P(X = k) = p_k; p = softmax(logits) along the last axis.

    probs need not be normalised (they are divided by their sum), as in PyTorch.
    """

    arg_constraints = {"probs": constraints.nonnegative, "logits": constraints.real}

    def __init__(self, probs=None, logits=None, validate_args=None):
        _one_of("Categorical", probs, logits)
        param = to_tensor(probs if probs is not None else logits)
        if param.dtype.kind != "f":
            (param,) = broadcast_all(param, op="Categorical")
        if param.ndim == 0:
            raise ValueError("Categorical: probs or logits need at least one dimension (the "
                             "categories); got a scalar")
        super().__init__(param.shape[:-1], validate_args=validate_args)
        self._probs = self._logits = None
        if probs is not None:
            self._check_params(probs=param)
            total = param.sum(-1, keepdims=True)
            if self._validate_args and not np.all(total._data > 0):
                raise ValueError("Categorical: probs must have a positive sum along the last "
                                 f"axis; got sums {total._data[total._data <= 0][:5]}")
            self._probs = param / total
        else:
            self._check_params(logits=param)
            self._logits = param - logsumexp(param, axis=-1, keepdims=True)
        self._num_events = param.shape[-1]
        self.support = constraints.integer_interval(0, self._num_events - 1)

    @property
    def probs(self):
        """p_k (normalised)."""
        return self._probs if self._probs is not None else softmax(self._logits, axis=-1)

    @property
    def logits(self):
        """log p_k (normalised: logsumexp = 0); -inf where p_k = 0."""
        if self._logits is not None:
            return self._logits
        p = self._probs
        positive = p > 0  # (an op: compiled calls replay it)
        safe = where(positive, p, from_array(np.ones((), dtype=p.dtype)))  # no log 0 in grads
        return where(positive, log(safe), from_array(np.asarray(-np.inf, dtype=p.dtype)))

    param_shape = property(lambda self: self.batch_shape + (self._num_events,))
    _param = property(lambda self: self._probs if self._probs is not None else self._logits)

    @property
    def mean(self):
        """Undefined for unordered categories: NaN (as PyTorch)."""
        return from_array(np.full(self.batch_shape, np.nan, dtype=self._param.dtype))

    variance = mean

    @property
    def mode(self):
        """argmax_k p_k."""
        return self._param.argmax(-1)

    def sample(self, sample_shape=()):
        """Inverse-CDF sampling: X = #{k : F(k) <= u}, u ~ U(0, 1); int64 as in PyTorch."""
        shape = self._extended_shape(sample_shape)
        p = self.probs._data
        cdf = np.cumsum(p, axis=-1)
        u = noise(shape, p.dtype, lambda rng, s: rng.random(s), self.probs)._data
        x = (u[..., None] >= cdf).sum(-1)
        return from_array(np.minimum(x, self._num_events - 1).astype(np.int64))

    def log_prob(self, value):
        """log P(x) = log p_x, picked with a one-hot mask (differentiable in probs/logits)."""
        value = to_tensor(value)
        if value.dtype.kind == "f" and self._validate_args and \
                not np.all(value._data % 1 == 0):
            raise ValueError(f"Categorical.log_prob: value must be integer category indices; "
                             f"got {value._data[value._data % 1 != 0][:5]}")
        x = self._value("log_prob", value.detach(), self._param)
        k = from_array(np.arange(self._num_events))
        mask = x.unsqueeze(-1).long() == k  # (ops: compiled calls replay them)
        logp = self.logits
        return where(mask, logp, from_array(np.zeros((), dtype=logp.dtype))).sum(-1)

    def entropy(self):
        """H = -sum_k p_k log p_k (0 log 0 = 0)."""
        if self._logits is not None:
            return -p_log_ratio(self._logits, None).sum(-1)
        return -xlogy(self._probs, self._probs).sum(-1)

    def enumerate_support(self, expand=True):
        """The values 0, ..., K-1 along a new leading axis (broadcast to the batch if expand)."""
        k = self._num_events
        values = np.arange(k).reshape((k,) + (1,) * len(self.batch_shape))
        if expand:
            values = np.broadcast_to(values, (k,) + self.batch_shape)
        return from_array(np.ascontiguousarray(values))
