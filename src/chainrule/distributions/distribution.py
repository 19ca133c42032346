"""Distribution: the base class, with torch.distributions' shapes and semantics.

A distribution holds a batch of independent distributions (`batch_shape`), each over events of
`event_shape`. `sample(sample_shape)` returns a tensor of shape
`sample_shape + batch_shape + event_shape`; `log_prob(value)` reduces the event axes and returns
`sample_shape + batch_shape`. Parameters are checked against `arg_constraints` when
`validate_args` is on (the default, as in PyTorch), so a negative scale is a clear ValueError.
"""

import numpy as np

from chainrule.core import mode as _mode
from chainrule.core.tensor import Tensor
from chainrule.ops.arithmetic import to_tensor
from chainrule.ops.creation import RandomDraw
from chainrule.ops.elementwise import exp


class Distribution:
    """Base class: batch_shape, event_shape, sample/rsample, log_prob, cdf, entropy, moments."""

    arg_constraints = {}
    support = None
    has_rsample = False
    _validate_default = True

    def __init__(self, batch_shape=(), event_shape=(), validate_args=None):
        self._batch_shape = tuple(batch_shape)
        self._event_shape = tuple(event_shape)
        self._validate_args = self._validate_default if validate_args is None \
            else bool(validate_args)

    @staticmethod
    def set_default_validate_args(value):
        """Turn parameter and value validation on or off for every new distribution."""
        Distribution._validate_default = bool(value)

    batch_shape = property(lambda self: self._batch_shape,
                           doc="Shape of the batch of independent distributions.")
    event_shape = property(lambda self: self._event_shape, doc="Shape of one event (sample).")

    # ---- sampling ----------------------------------------------------------------------
    def sample(self, sample_shape=()):
        """Draw samples of shape sample_shape + batch_shape + event_shape (no gradient)."""
        from chainrule.core.mode import no_grad

        with no_grad():
            return self.rsample(sample_shape).detach()

    def rsample(self, sample_shape=()):
        """Reparameterised sample x = g(params, noise), differentiable in the parameters."""
        raise NotImplementedError(f"{type(self).__name__}: rsample is not available (the "
                                  "family has no reparameterisation); use sample()")

    def _extended_shape(self, sample_shape=()):
        return _shape_tuple(sample_shape) + self._batch_shape + self._event_shape

    # ---- densities and moments ----------------------------------------------------------
    def log_prob(self, value):
        """log p(value), summed over the event axes."""
        raise NotImplementedError(f"{type(self).__name__}.log_prob")

    def cdf(self, value):
        """P(X <= value)."""
        raise NotImplementedError(f"{type(self).__name__}: cdf has no closed form")

    def icdf(self, value):
        """The quantile function, the inverse of cdf."""
        raise NotImplementedError(f"{type(self).__name__}: icdf has no closed form")

    def entropy(self):
        """Differential (or Shannon) entropy -E[log p(X)] in nats."""
        raise NotImplementedError(f"{type(self).__name__}.entropy")

    def perplexity(self):
        """exp(entropy)."""
        return exp(self.entropy())

    @property
    def mean(self):
        raise NotImplementedError(f"{type(self).__name__}.mean")

    @property
    def mode(self):
        raise NotImplementedError(f"{type(self).__name__}.mode")

    @property
    def variance(self):
        raise NotImplementedError(f"{type(self).__name__}.variance")

    @property
    def stddev(self):
        """sqrt(variance)."""
        return self.variance.sqrt()

    # ---- validation ---------------------------------------------------------------------
    def _check_params(self, **params):
        """Raise ValueError naming each parameter that violates its constraint."""
        if not self._validate_args:
            return
        for name, value in params.items():
            constraint = self.arg_constraints.get(name)
            if constraint is None or value is None:
                continue
            data = value._data if isinstance(value, Tensor) else np.asarray(value)
            ok = constraint.check(data)
            if not np.all(ok):
                raise ValueError(f"{type(self).__name__}: parameter {name} must be "
                                 f"{constraint.name}; got {_offending(data, ok, constraint)}")

    def _value(self, op, value, like, check_support=True):
        """value as a Tensor checked against batch/event shape and the support."""
        value = to_tensor(value, like)
        if value.dtype.kind not in "fc" and like.dtype.kind == "f":
            value = value.astype(like.dtype)  # integer data: compute in the parameters' dtype
        if not self._validate_args:
            return value
        n_event = len(self._event_shape)
        if n_event and value.shape[-n_event:] != self._event_shape:
            raise ValueError(f"{type(self).__name__}.{op}: value must end in the event shape "
                             f"{self._event_shape}; got shape {value.shape}")
        try:
            np.broadcast_shapes(value.shape, self._batch_shape + self._event_shape)
        except ValueError:
            raise ValueError(f"{type(self).__name__}.{op}: value of shape {value.shape} does "
                             f"not broadcast with batch_shape + event_shape "
                             f"{self._batch_shape + self._event_shape}") from None
        support = self.support
        if support is not None and check_support:
            ok = support.check(value._data)
            if not np.all(ok):
                raise ValueError(f"{type(self).__name__}.{op}: value must be {support.name} "
                                 f"(the support); got {_offending(value._data, ok, support)}")
        return value

    def __repr__(self):
        parts = []
        for name in self.arg_constraints:
            v = self.__dict__.get(name, self.__dict__.get("_" + name))
            if isinstance(v, Tensor):
                parts.append(f"{name}: {v._data.tolist() if v.size <= 4 else v.shape}")
        return f"{type(self).__name__}({', '.join(parts)})"


def _shape_tuple(sample_shape):
    if isinstance(sample_shape, (int, np.integer)):
        return (int(sample_shape),)
    try:
        return tuple(int(n) for n in sample_shape)
    except TypeError:
        raise TypeError(f"sample: sample_shape must be a tuple of ints; got {sample_shape!r}") \
            from None


def _offending(data, ok, constraint):
    """A short list of the values that broke the constraint (per event for vector constraints)."""
    ok = np.broadcast_to(ok, data.shape[:data.ndim - constraint.event_dim])
    bad = data[~ok] if constraint.event_dim == 0 else data[~ok][:1]
    return np.array2string(bad[:5], precision=6, separator=", ")


def broadcast_all(*values, op="broadcast_all"):
    """Tensors of one broadcast shape; Python numbers and integer data take a floating dtype."""
    like = next((v for v in values if isinstance(v, Tensor) and v.dtype.kind == "f"), None)
    tensors = []
    for v in values:
        t = to_tensor(v, like)
        if t.dtype.kind != "f":
            t = t.astype(like.dtype if like is not None else _mode.state.default_dtype)
        tensors.append(t)
    try:
        shape = np.broadcast_shapes(*[t.shape for t in tensors])
    except ValueError:
        shapes = ", ".join(str(t.shape) for t in tensors)
        raise ValueError(f"{op}: parameter shapes {shapes} cannot be broadcast together") \
            from None
    return [t if t.shape == shape else t.broadcast_to(shape) for t in tensors]


def noise(shape, dtype, draw, like=None):
    """A constant tensor of random draws `draw(generator, shape)` from chainrule's generator
    (an op: a compiled function draws afresh at every replay), on like's device (a Tensor:
    drawn by that device's generator)."""
    device = None
    if like is not None and type(like._data) is not np.ndarray:
        from chainrule._device import device_of

        device = device_of(like._data)
    return RandomDraw(draw, shape, np.dtype(dtype), device)()
