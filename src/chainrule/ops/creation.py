"""Tensor factories: tensor, zeros, ones, full, arange, linspace, eye, rand, randn, *_like.

Dtypes may be NumPy dtypes or chainrule's dtype names (cr.float32, cr.long, ...), which are
NumPy dtypes."""

import numpy as np

from chainrule import _device
from chainrule._device import check_device, device_of, to_device
from chainrule.core import mode as _mode
from chainrule.core.function import Nondifferentiable
from chainrule.core.tensor import Tensor
from chainrule.ops.registry import op


def _dtype(dtype):
    return _mode.state.default_dtype if dtype is None else np.dtype(dtype)


_FACTORY = dict(differentiable=False)


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


def _xp(dev):
    """The namespace that creates arrays on dev (None: the CPU)."""
    return np if dev is None or dev.type == "cpu" else _device.backend(dev).xp


def _make(dev, fn, *args, **kwargs):
    """fn(*args, **kwargs) of dev's namespace (np on the CPU), on dev's index."""
    if dev is None or dev.type == "cpu":
        return getattr(np, fn)(*args, **kwargs)
    a = getattr(_device.backend(dev).xp, fn)(*args, **kwargs)
    return to_device(a, dev)


@op(**_FACTORY)
def tensor(data, dtype=None, requires_grad=False, device=None):
    """A new tensor; Python floats take the default dtype (float32), NumPy arrays keep theirs."""
    dev = check_device("tensor", device)
    if isinstance(data, Tensor):
        data = data._data.copy()
    if dev is None:
        return Tensor(data, dtype=dtype, requires_grad=requires_grad)
    t = Tensor(data, dtype=dtype)
    t._data = to_device(t._data, dev)
    return t.requires_grad_(True) if requires_grad else t


@op(**_FACTORY)
def zeros(*shape, dtype=None, requires_grad=False, device=None):
    """Tensor of zeros."""
    dev = check_device("zeros", device)
    return _wrap(_make(dev, "zeros", _shape(shape), dtype=_dtype(dtype)), requires_grad)


@op(**_FACTORY)
def ones(*shape, dtype=None, requires_grad=False, device=None):
    """Tensor of ones."""
    dev = check_device("ones", device)
    return _wrap(_make(dev, "ones", _shape(shape), dtype=_dtype(dtype)), requires_grad)


@op(**_FACTORY)
def full(shape, fill_value, dtype=None, requires_grad=False, device=None):
    """Tensor of `shape` filled with `fill_value`."""
    dev = check_device("full", device)
    shape = _shape((shape,) if isinstance(shape, int) else (tuple(shape),))
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    return _wrap(_make(dev, "full", shape, fill_value, dtype=_dtype(dtype)), requires_grad)


def _like_device(name, t, device):
    """A *_like factory's device: device= if given, else t's."""
    if device is not None:
        return check_device(name, device)
    return device_of(t._data) if isinstance(t, Tensor) else None


@op(**_FACTORY)
def zeros_like(t, dtype=None, requires_grad=False, device=None):
    """Zeros with the shape (and dtype) of t."""
    dev = _like_device("zeros_like", t, device)
    t = t._data if isinstance(t, Tensor) else np.asarray(t)
    return _wrap(_make(dev, "zeros", t.shape, dtype=t.dtype if dtype is None else dtype),
                 requires_grad)


@op(**_FACTORY)
def ones_like(t, dtype=None, requires_grad=False, device=None):
    """Ones with the shape (and dtype) of t."""
    dev = _like_device("ones_like", t, device)
    t = t._data if isinstance(t, Tensor) else np.asarray(t)
    return _wrap(_make(dev, "ones", t.shape, dtype=t.dtype if dtype is None else dtype),
                 requires_grad)


@op(**_FACTORY)
def arange(start, end=None, step=1, dtype=None, requires_grad=False, device=None):
    """Values start, start+step, ... < end; int64 for integer arguments (as PyTorch)."""
    dev = check_device("arange", device)
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be non-zero")
    if dtype is None:
        ints = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = np.int64 if ints else _mode.state.default_dtype
    return _wrap(_make(dev, "arange", start, end, step, dtype=dtype), requires_grad)


@op(**_FACTORY)
def linspace(start, end, steps, dtype=None, requires_grad=False, device=None):
    """`steps` evenly spaced values from start to end inclusive."""
    dev = check_device("linspace", device)
    return _wrap(_make(dev, "linspace", start, end, int(steps), dtype=_dtype(dtype)),
                 requires_grad)


@op(**_FACTORY)
def eye(n, m=None, dtype=None, requires_grad=False, device=None):
    """Identity matrix (n x m)."""
    dev = check_device("eye", device)
    return _wrap(_make(dev, "eye", n, m, dtype=_dtype(dtype)), requires_grad)


class RandomDraw(Nondifferentiable):
    """y = draw(generator, shape) as dtype, from chainrule's generator at the time of the call
    (an op with no inputs: a compiled function draws afresh at every replay)"""

    __slots__ = ("draw", "shape", "dtype", "device")
    pure = False

    def __init__(self, draw, shape, dtype, device=None):
        self.draw, self.shape, self.dtype = draw, shape, dtype
        self.device = None if device is None or device.type == "cpu" else device

    def forward(self):
        if self.device is None:
            return np.asarray(self.draw(_mode.state.rng, self.shape), dtype=self.dtype)
        b = _device.backend(self.device)  # the device's own generator: no copy per draw
        return to_device(self.draw(b.rng(self.device.index), self.shape),
                         self.device).astype(self.dtype, copy=False)


def _uniform(rng, shape):
    return rng.random(shape, dtype=np.float64)


def _normal(rng, shape):
    return rng.standard_normal(shape)


def _random(draw, shape, dtype, requires_grad, generator=None, device=None):
    if generator is not None:  # a cr.Generator: draw from its stream instead of the default
        draw = (lambda kernel: lambda _, s: kernel(generator._rng, s))(draw)
        if device is not None and device.type != "cpu":  # its stream is the host's: one copy
            draw = (lambda d, dev: lambda r, s: to_device(d(r, s), dev))(draw, device)
            device = None
    t = RandomDraw(draw, _shape(shape), _dtype(dtype), device)()
    if requires_grad:
        t.requires_grad_(True)
    return t


@op(classes=(RandomDraw,), pure=False, **_FACTORY)
def rand(*shape, generator=None, dtype=None, requires_grad=False, device=None):
    """Uniform samples on [0, 1) from chainrule's generator (see manual_seed)."""
    dev = check_device("rand", device)
    return _random(_uniform, shape, dtype, requires_grad, generator, dev)


@op(classes=(RandomDraw,), pure=False, **_FACTORY)
def randn(*shape, generator=None, dtype=None, requires_grad=False, device=None):
    """Standard normal samples from chainrule's generator (see manual_seed)."""
    dev = check_device("randn", device)
    return _random(_normal, shape, dtype, requires_grad, generator, dev)


@op(**_FACTORY)
def from_numpy(ndarray):
    """A tensor sharing the array's memory and keeping its dtype (torch.from_numpy)."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"from_numpy: expected an np.ndarray; got {type(ndarray).__name__}")
    return Tensor(ndarray)


@op(**_FACTORY)
def as_tensor(data, dtype=None, device=None):
    """data as a tensor, sharing memory when it already is an array of that dtype."""
    dev = check_device("as_tensor", device)
    if isinstance(data, Tensor):
        t = data if dtype is None or data.dtype == np.dtype(dtype) else data.astype(dtype)
        return t if device is None else t.to(dev)
    t = Tensor(data, dtype=None if dtype is None else np.dtype(dtype))
    if dev is not None:
        t._data = to_device(t._data, dev)
    return t


@op(**_FACTORY)
def empty(*size, dtype=None, requires_grad=False, device=None):
    """An uninitialised tensor (zeros here: NumPy's empty would expose stale memory)."""
    return zeros(*size, dtype=dtype, requires_grad=requires_grad, device=device)


@op(**_FACTORY)
def full_like(input, fill_value, dtype=None, requires_grad=False, device=None):
    """`fill_value` with the shape (and dtype) of input."""
    dev = _like_device("full_like", input, device)
    a = input._data if isinstance(input, Tensor) else np.asarray(input)
    return _wrap(_make(dev, "full", a.shape, fill_value, dtype=a.dtype if dtype is None
                       else dtype), requires_grad)
