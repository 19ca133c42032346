"""Tensor factories: tensor, zeros, ones, full, arange, linspace, eye, rand, randn, *_like."""

import numpy as np

from chainrule.core import mode as _mode
from chainrule.core.function import Nondifferentiable
from chainrule.core.tensor import Tensor


def _dtype(dtype):
    return _mode.state.default_dtype if dtype is None else np.dtype(dtype)


def _shape(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    try:
        shape = tuple(int(n) for n in shape)
    except (TypeError, ValueError):
        raise TypeError(f"shape must be integers; got {shape!r}") from None
    if any(n < 0 for n in shape):
        raise ValueError(f"shape must be non-negative; got {shape}")
    return shape


def _wrap(array, requires_grad):
    return Tensor(array, requires_grad=requires_grad)


def tensor(data, dtype=None, requires_grad=False):
    """A new tensor; Python floats take the default dtype (float32), NumPy arrays keep theirs."""
    if isinstance(data, Tensor):
        data = data._data.copy()
    return Tensor(data, dtype=dtype, requires_grad=requires_grad)


def zeros(*shape, dtype=None, requires_grad=False):
    """Tensor of zeros."""
    return _wrap(np.zeros(_shape(shape), dtype=_dtype(dtype)), requires_grad)


def ones(*shape, dtype=None, requires_grad=False):
    """Tensor of ones."""
    return _wrap(np.ones(_shape(shape), dtype=_dtype(dtype)), requires_grad)


def full(shape, fill_value, dtype=None, requires_grad=False):
    """Tensor of `shape` filled with `fill_value`."""
    shape = _shape((shape,) if isinstance(shape, int) else (tuple(shape),))
    return _wrap(np.full(shape, fill_value, dtype=_dtype(dtype)), requires_grad)


def zeros_like(t, dtype=None, requires_grad=False):
    """Zeros with the shape (and dtype) of t."""
    t = t._data if isinstance(t, Tensor) else np.asarray(t)
    return _wrap(np.zeros(t.shape, dtype=t.dtype if dtype is None else dtype), requires_grad)


def ones_like(t, dtype=None, requires_grad=False):
    """Ones with the shape (and dtype) of t."""
    t = t._data if isinstance(t, Tensor) else np.asarray(t)
    return _wrap(np.ones(t.shape, dtype=t.dtype if dtype is None else dtype), requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad=False):
    """Values start, start+step, ... < end; int64 for integer arguments (as PyTorch)."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be non-zero")
    if dtype is None:
        ints = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = np.int64 if ints else _mode.state.default_dtype
    return _wrap(np.arange(start, end, step, dtype=dtype), requires_grad)


def linspace(start, end, steps, dtype=None, requires_grad=False):
    """`steps` evenly spaced values from start to end inclusive."""
    return _wrap(np.linspace(start, end, int(steps), dtype=_dtype(dtype)), requires_grad)


def eye(n, m=None, dtype=None, requires_grad=False):
    """Identity matrix (n x m)."""
    return _wrap(np.eye(n, m, dtype=_dtype(dtype)), requires_grad)


class RandomDraw(Nondifferentiable):
    """y = draw(generator, shape) as dtype, from chainrule's generator at the time of the call
    (an op with no inputs: a compiled function draws afresh at every replay)"""

    __slots__ = ("draw", "shape", "dtype")

    def __init__(self, draw, shape, dtype):
        self.draw, self.shape, self.dtype = draw, shape, dtype

    def forward(self):
        return np.asarray(self.draw(_mode.state.rng, self.shape), dtype=self.dtype)


def _uniform(rng, shape):
    return rng.random(shape, dtype=np.float64)


def _normal(rng, shape):
    return rng.standard_normal(shape)


def _random(draw, shape, dtype, requires_grad):
    t = RandomDraw(draw, _shape(shape), _dtype(dtype))()
    if requires_grad:
        t.requires_grad_(True)
    return t


def rand(*shape, dtype=None, requires_grad=False):
    """Uniform samples on [0, 1) from chainrule's generator (see manual_seed)."""
    return _random(_uniform, shape, dtype, requires_grad)


def randn(*shape, dtype=None, requires_grad=False):
    """Standard normal samples from chainrule's generator (see manual_seed)."""
    return _random(_normal, shape, dtype, requires_grad)
