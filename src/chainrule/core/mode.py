"""Global state of the engine: grad mode, default dtype, the random generator, the version clock."""

import functools

import numpy as np


class _State:
    """Mutable engine state read on the hot path (one attribute lookup, no dict)."""

    __slots__ = ("grad_enabled", "default_dtype", "rng", "anomaly", "grad_sinks", "tracer")

    def __init__(self):
        self.grad_enabled = True
        self.grad_sinks = False  # inside backward(): see engine.grad_sink
        self.default_dtype = np.dtype(np.float32)
        self.rng = np.random.default_rng()
        self.anomaly = None  # hook(node, phase, arrays, upstream) after each forward/vjp
        self.tracer = None  # the recorder of cr.compile while it traces a call (core/compile.py)


state = _State()

# In-place writes stamp a tensor's version counter with the next tick of this clock; a graph
# node remembers the tick at which it was recorded, so "modified after recording" is a single
# integer comparison.
clock = [0]


def tick():
    """Advance the version clock and return the new time."""
    clock[0] += 1
    return clock[0]


class _GradMode:
    """Context manager and decorator that sets grad mode and restores the previous one."""

    enabled = True

    def __enter__(self):
        self._prev = state.grad_enabled
        state.grad_enabled = self.enabled

    def __exit__(self, *exc):
        state.grad_enabled = self._prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with type(self)():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):
    """Disable graph recording: ops inside compute values only (context manager or decorator)."""

    enabled = False


class enable_grad(_GradMode):
    """Re-enable graph recording, e.g. inside `no_grad` (context manager or decorator)."""

    enabled = True


class set_grad_enabled(_GradMode):
    """Set grad mode to `mode` for the duration of a `with` block."""

    def __init__(self, mode):
        self.enabled = bool(mode)


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
    return state.rng


def default_generator():
    """The numpy Generator that chainrule's random functions draw from."""
    return state.rng
