"""Function: one primitive op, its forward on ndarrays and its vjp on Tensors, side by side."""

import weakref

import numpy as np

from chainrule.core import mode as _mode
from chainrule.core.backend import DEVICE_TYPES as _device_types
from chainrule.core.backend import describe as _describe
from chainrule.core.tensor import from_array

_state = _mode.state
_clock = _mode.clock
_ndarray = np.ndarray
_ref = weakref.ref


class Function:
    """Base class of primitive ops.

    A subclass defines
      * ``forward(self, *arrays) -> ndarray | tuple[ndarray]`` on NumPy arrays (or a device's
        arrays: compute with ``_backend.xp_of(array)``, the inputs' namespace), and
      * ``vjp(self, g) -> Tensor | tuple[Tensor | None]``: the vector-Jacobian product,
        written with chainrule ops on Tensors so that it is itself differentiable.
    ``vjp`` reads ``self.inputs`` (Tensors) and ``self.output`` (the result Tensor). Gradients
    may have the broadcast shape of the output; the engine sums them back to each input's shape.
    Parameters of an op (axis, shape, ...) are set in ``__init__`` and declared in ``__slots__``.
    """

    __slots__ = ("inputs", "_outputs", "_stamp", "__weakref__")
    differentiable = True  # False: outputs never require grad and are never recorded
    pure = True  # the same inputs give the same outputs (False for random draws)
    # vjp reads the values of inputs/outputs; in-place writes to them after recording are errors
    reads_values = True

    def __call__(self, *inputs):
        """Run forward on the inputs' arrays; record the node when an input requires grad."""
        n = len(inputs)  # the arity unroll only spares building a list for 1-3 inputs
        try:  # (free in CPython 3.11+ until it raises)
            if n == 1:
                x = inputs[0]
                y = self.forward(x._data)
                need = x.requires_grad
            elif n == 2:
                a, b = inputs
                y = self.forward(a._data, b._data)
                need = a.requires_grad or b.requires_grad
            elif n == 3:
                a, b, c = inputs
                y = self.forward(a._data, b._data, c._data)
                need = a.requires_grad or b.requires_grad or c.requires_grad
            else:
                y = self.forward(*[t._data for t in inputs])
                need = any(t.requires_grad for t in inputs)
        except TypeError:  # a device array met a host one, or another device's
            _check_same_device(self, inputs)
            raise
        node = self if need and _state.grad_enabled and self.differentiable else None
        if type(y) is tuple:  # several outputs
            ys = tuple(a if type(a) is _ndarray or type(a) in _device_types else np.asarray(a)
                       for a in y)
            raw = any(a is not b for a, b in zip(ys, y))
            out = tuple(from_array(a, node, i) for i, a in enumerate(ys))
            refs = tuple(_ref(o) for o in out) if node is not None else None
        else:
            raw = type(y) is not _ndarray  # NumPy returns scalars, not 0-d arrays, from 0-d
            if raw:
                if type(y) in _device_types:  # a device array (CuPy, the fake device)
                    raw = False
                else:
                    y = np.asarray(y)
            ys = None
            out = from_array(y, node)
            refs = _ref(out) if node is not None else None
        if _state.interceptors:
            for i in _state.interceptors:
                i.forward(self, inputs, (y,) if ys is None else ys, raw, ys is not None)
        if node is not None:
            self.inputs = inputs
            self._outputs = refs
            self._stamp = _clock[0]
        return out

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


def _check_same_device(fn, inputs):
    """Raise naming both devices when an op's inputs live on different devices."""
    devices = []
    for t in inputs:
        d = _describe(t._data)
        if d not in devices:
            devices.append(d)
    if len(devices) > 1:
        name = type(fn).__name__.lower()
        raise RuntimeError(f"{name}: tensors on different devices: "
                           + " and ".join(str(d) for d in devices)
                           + "; move them to one device with .to(device)") from None


class Nondifferentiable(Function):
    """An op whose output carries no gradient: comparisons, masks, indices, random draws.

    Its output never requires grad and is never recorded for backward, but it is a Function so
    that everything chainrule computes from data is one call of a ``forward`` (cr.compile
    replays exactly those calls; an array computed outside them would be frozen at trace time).
    """

    __slots__ = ()
    differentiable = False
