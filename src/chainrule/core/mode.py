"""Global state of the kernel: grad mode, default dtype, the random generator, the version clock,
and the one extension point (interceptors) through which tracing and anomaly detection observe.
"""

import functools

import numpy as np

from chainrule.core import backend as _backend


class _State:
    """Mutable kernel state read on the hot path (one attribute lookup, no dict)."""

    __slots__ = ("grad_enabled", "default_dtype", "rng", "interceptors", "accumulating")

    def __init__(self):
        self.grad_enabled = True
        self.default_dtype = np.dtype(np.float32)
        self.rng = np.random.default_rng()
        self.interceptors = ()  # Interceptor objects observing the kernel's events, innermost last
        # True while backward() accumulates into leaves' .grad (no create_graph, no
        # autograd.grad, no interceptor): a vjp may then compute a leaf's gradient straight
        # into memory its grad sink offers (engine.leaf_grad_memory)
        self.accumulating = False


state = _State()

# In-place writes stamp a tensor's version counter with the next tick of this clock; a graph
# node remembers the tick at which it was recorded, so "modified after recording" is a single
# integer comparison.
clock = [0]


def tick():
    """Advance the version clock and return the new time."""
    clock[0] += 1
    return clock[0]


class Interceptor:
    """The kernel's one extension point: an observer of every event that touches data.

    Subclasses override the events they need (the defaults do nothing); `intercept(obj)` makes
    one active. cr.compile's tracer records them to replay a call; detect_anomaly checks the
    arrays of forward and vjp. Events, in the kernel's words:
      forward(fn, inputs, arrays, raw, many): an op's forward ran (arrays: its outputs; raw: it
          returned a NumPy scalar that was wrapped; many: it returned a tuple)
      vjp(node, grads, upstream): an op's vjp ran in backward
      backward(): a backward walk starts
      leaf_grad(t, g, create_graph): leaf t received gradient g (t.grad is updated)
      write(op, t, kernel, value, params): an in-place write kernel(t's array, value, *params)
          is about to run
      read(t, what): t's value leaves the graph as a Python value (.item(), bool(), .numpy())
      module_call(module): a Module is called, in its current train/eval mode
      intermediate_hook(t): a hook or retain_grad of a non-leaf tensor is about to run
    """

    def forward(self, fn, inputs, arrays, raw, many): pass
    def vjp(self, node, grads, upstream): pass
    def backward(self): pass
    def leaf_grad(self, t, g, create_graph): pass
    def write(self, op, t, kernel, value, params): pass
    def read(self, t, what): pass
    def module_call(self, module): pass
    def intermediate_hook(self, t): pass


class intercept:
    """Context manager: `interceptor` observes the kernel's events inside the block."""

    __slots__ = ("interceptor", "_prev")

    def __init__(self, interceptor):
        self.interceptor = interceptor

    def __enter__(self):
        self._prev = state.interceptors
        state.interceptors = self._prev + (self.interceptor,)
        return self.interceptor

    def __exit__(self, *exc):
        state.interceptors = self._prev
        return False


class muted:
    """Context manager: no interceptor observes the events inside (effects a tracer replays)."""

    __slots__ = ("_prev",)

    def __enter__(self):
        self._prev, state.interceptors = state.interceptors, ()

    def __exit__(self, *exc):
        state.interceptors = self._prev
        return False


class _GradMode:
    """Sets grad mode inside a `with` block or a decorated function, then restores it."""

    enabled = True

    def __enter__(self):
        self._prev = state.grad_enabled
        state.grad_enabled = self.enabled

    def __exit__(self, *exc):
        state.grad_enabled = self._prev
        return False

    def __call__(self, fn):
        enabled = self.enabled

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            prev = state.grad_enabled
            state.grad_enabled = enabled
            try:
                return fn(*args, **kwargs)
            finally:
                state.grad_enabled = prev

        return wrapper


class no_grad(_GradMode):
    """Disable graph recording: ops inside compute values only (context manager or decorator)."""

    enabled = False


class enable_grad(_GradMode):
    """Re-enable graph recording, e.g. inside `no_grad` (context manager or decorator)."""

    enabled = True


inference_mode = no_grad  # PyTorch's faster no_grad; here they are the same thing


class set_grad_enabled(_GradMode):
    """Set grad mode to `mode`: at once when called, restored on leaving a `with` block (as
    PyTorch's); as a decorator, only while the decorated function runs."""

    def __init__(self, mode):
        self.enabled = bool(mode)
        self._prev = state.grad_enabled
        state.grad_enabled = self.enabled

    def __enter__(self):
        pass

    def __call__(self, fn):
        state.grad_enabled = self._prev  # decorating must not change the mode of the caller
        return super().__call__(fn)


def is_grad_enabled():
    """True when ops record the graph for backward."""
    return state.grad_enabled


def set_default_dtype(dtype):
    """Set the dtype of tensors built from Python floats (float32 unless changed)."""
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"set_default_dtype: only floating dtypes are allowed; got {dtype}")
    state.default_dtype = dtype


def get_default_dtype():
    """The dtype of tensors built from Python floats."""
    return state.default_dtype


def manual_seed(seed):
    """Seed chainrule's generator: initialisation, shuffles and dropout become reproducible."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"manual_seed: seed must be a non-negative integer; got {seed!r}")
    state.rng = np.random.default_rng(int(seed))
    for reseed in _backend.SEEDERS:  # the devices' generators (the fake device, CUDA)
        reseed(int(seed))
    return state.rng


def default_generator():
    """The numpy Generator that chainrule's random functions draw from."""
    return state.rng
