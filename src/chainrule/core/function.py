"""Function: one primitive op, its forward on ndarrays and its vjp on Tensors, side by side."""

import weakref

import numpy as np

from chainrule.core import mode as _mode
from chainrule.core.tensor import make

_state = _mode.state
_clock = _mode.clock
_ndarray = np.ndarray


class Function:
    """Base class of primitive ops.

    A subclass defines
      * ``forward(self, *arrays) -> ndarray | tuple[ndarray]`` on NumPy arrays, and
      * ``vjp(self, g) -> Tensor | tuple[Tensor | None]``: the vector-Jacobian product,
        written with chainrule ops on Tensors so that it is itself differentiable.
    ``vjp`` reads ``self.inputs`` (Tensors) and ``self.output`` (the result Tensor). Gradients
    may have the broadcast shape of the output; the engine sums them back to each input's shape.
    Parameters of an op (axis, shape, ...) are set in ``__init__`` and declared in ``__slots__``.
    """

    __slots__ = ("inputs", "_outputs", "_stamp", "__weakref__")
    # vjp reads the values of inputs/outputs; in-place writes to them after recording are errors
    reads_values = True

    def __call__(self, *inputs):
        n = len(inputs)  # unrolled for 1-3 inputs: this is the hot path of every op
        if n == 1:
            x = inputs[0]
            y = self.forward(x._data)
            record = x.requires_grad and _state.grad_enabled
        elif n == 2:
            a, b = inputs
            y = self.forward(a._data, b._data)
            record = (a.requires_grad or b.requires_grad) and _state.grad_enabled
        elif n == 3:
            a, b, c = inputs
            y = self.forward(a._data, b._data, c._data)
            record = (a.requires_grad or b.requires_grad or c.requires_grad) \
                and _state.grad_enabled
        else:
            y = self.forward(*[t._data for t in inputs])
            record = _state.grad_enabled and any(t.requires_grad for t in inputs)
        if type(y) is tuple:
            return self._wrap_many(inputs, y, record)
        if type(y) is not _ndarray:
            y = np.asarray(y)  # NumPy returns scalars, not 0-d arrays, from 0-d inputs
            if _state.tracer is not None:
                _state.tracer.op(self, inputs, (y,), True)
        elif _state.tracer is not None:  # cr.compile is recording this call
            _state.tracer.op(self, inputs, (y,), False)
        if not record:
            return make(y)
        out = make(y, self)
        self.inputs = inputs
        self._outputs = weakref.ref(out)
        self._stamp = _clock[0]
        if _state.anomaly is not None:
            _state.anomaly(self, "forward", (y,), None)
        return out

    def _wrap_many(self, inputs, ys, record):
        if _state.tracer is not None:
            raw = any(type(y) is not _ndarray for y in ys)
            ys = [y if type(y) is _ndarray else np.asarray(y) for y in ys]
            _state.tracer.op(self, inputs, ys, raw, True)
        else:
            ys = [y if type(y) is _ndarray else np.asarray(y) for y in ys]
        if not record:
            return tuple(make(y) for y in ys)
        outs = tuple(make(y, self, i) for i, y in enumerate(ys))
        self.inputs = inputs
        self._outputs = tuple(weakref.ref(o) for o in outs)
        self._stamp = _clock[0]
        if _state.anomaly is not None:
            _state.anomaly(self, "forward", ys, None)
        return outs

    @property
    def output(self):
        """The output Tensor of a single-output op (alive while the graph above uses it)."""
        return self._outputs()

    @property
    def outputs(self):
        """The output Tensors (None where the output is no longer referenced)."""
        refs = self._outputs
        return (refs(),) if not isinstance(refs, tuple) else tuple(r() for r in refs)

    def forward(self, *arrays):
        raise NotImplementedError(f"{type(self).__name__}.forward")

    def vjp(self, g):
        raise NotImplementedError(f"{type(self).__name__} is not differentiable")

    def __repr__(self):
        return f"<{type(self).__name__}>"


class Nondifferentiable(Function):
    """An op whose output carries no gradient: comparisons, masks, indices, random draws.

    Its output never requires grad and is never recorded for backward, but it is a Function so
    that everything chainrule computes from data is one call of a ``forward`` (cr.compile
    replays exactly those calls; an array computed outside them would be frozen at trace time).
    """

    __slots__ = ()

    def __call__(self, *inputs):
        y = self.forward(*[t._data for t in inputs])
        raw = type(y) is not _ndarray
        if raw:
            y = np.asarray(y)
        if _state.tracer is not None:
            _state.tracer.op(self, inputs, (y,), raw)
        return make(y)
