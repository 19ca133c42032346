"""The backend table: for each array type chainrule computes on, the namespace its ops call and
the device facts around it (Chainer's `xp`, as a dict lookup keyed by the array's type).

NumPy arrays are the CPU; CuPy arrays are CUDA devices (registered when a CUDA device is first
asked for); `_fake.FakeArray` is the testing device 'fake'. Ops take the namespace of their
inputs with `xp_of(array)`: `type(a) is np.ndarray` first, so the CPU path costs one compare.
"""

import contextlib

import numpy as np

_ndarray = np.ndarray


class Backend:
    """One device family: xp (the NumPy-like namespace), name ('cpu', 'cuda', 'fake'), the host
    transfers, errstate (NumPy's, a no-op elsewhere), special functions, linalg extras and the
    per-device random generators."""

    __slots__ = ("name", "xp", "array_type", "to_host", "from_host", "errstate", "special",
                 "linalg", "rng", "index_of", "synchronize", "_scalars", "seed", "lenient")

    def __init__(self, name, xp, array_type, to_host, from_host, errstate, special, linalg,
                 rng, index_of=lambda a: None, synchronize=lambda: None):
        self.name, self.xp, self.array_type = name, xp, array_type
        self.to_host, self.from_host = to_host, from_host
        self.errstate, self.special, self.linalg = errstate, special, linalg
        self.rng, self.index_of, self.synchronize = rng, index_of, synchronize
        self._scalars = {}
        self.seed = None
        self.lenient = False  # tests only: .numpy() copies to the host instead of raising

    def scalar(self, value, dtype):
        """A 0-d array of `value` on this device, made once per (value, dtype) and reused, so a
        Python scalar operand is not a host-to-device copy at every op."""
        key = (value, dtype, type(value))
        a = self._scalars.get(key)
        if a is None:
            if len(self._scalars) > 512:
                self._scalars.clear()
            a = self._scalars[key] = self.from_host(np.asarray(value, dtype=dtype), None)
        return a

    def __repr__(self):
        return f"<backend {self.name}>"


def _nothing(**kwargs):
    return contextlib.nullcontext()


def _cpu_rng(index):
    from chainrule.core import mode

    return mode.state.rng


CPU = Backend("cpu", np, _ndarray, to_host=lambda a: a, from_host=lambda a, index: a,
              errstate=np.errstate, special=None, linalg=np.linalg, rng=_cpu_rng)

_BY_TYPE = {_ndarray: CPU}  # array type -> Backend; cupy.ndarray and FakeArray join on demand
DEVICE_TYPES = set()  # the non-CPU array types (Function.__call__ keeps them as they are)
DEFAULT = None  # the default device's (Backend, index) for Tensor(...), None: the CPU
SEEDERS = []  # seed(n) of each device's generators, called by cr.manual_seed


def register(backend):
    """Add a backend to the table (its array type becomes a device array)."""
    _BY_TYPE[backend.array_type] = backend
    DEVICE_TYPES.add(backend.array_type)


def backend_of(a):
    """The Backend of an array (NumPy scalars and anything else unknown: the CPU)."""
    if type(a) is _ndarray:
        return CPU
    return _BY_TYPE.get(type(a), CPU)


def xp_of(a):
    """The namespace (np, cupy, the fake's) that computes on array (or Tensor) a."""
    if type(a) is _ndarray:
        return np
    b = _BY_TYPE.get(type(a))
    if b is None:  # a Tensor (its data's), a NumPy scalar, a list: the CPU's
        b = _BY_TYPE.get(type(getattr(a, "_data", None)), CPU)
    return b.xp


def asarray(value, dtype=None, like=None):
    """np.asarray(value, dtype) on the host; on the device of array `like`, its namespace's."""
    if like is None or type(like) is _ndarray:
        return np.asarray(value, dtype)
    return _BY_TYPE.get(type(like), CPU).xp.asarray(value, dtype)


def errstate(a, **kwargs):
    """np.errstate(**kwargs) for host arrays; nothing on a device (CuPy has no errstate)."""
    if type(a) is _ndarray:
        return np.errstate(**kwargs)
    return _BY_TYPE.get(type(a), CPU).errstate(**kwargs)


def to_host(a):
    """a as a NumPy array (a copy from the device, counted on the fake one)."""
    if type(a) is _ndarray:
        return a
    b = _BY_TYPE.get(type(a))
    return np.asarray(a) if b is None else b.to_host(a)


def to_like(host, like):
    """A host array on the device of array `like` (host itself when like is on the CPU)."""
    return host if type(like) is _ndarray else backend_of(like).from_host(host, None)


def describe(a):
    """The name of the device array a lives on: 'cpu', 'fake', 'cuda:0'."""
    b = backend_of(a)
    i = b.index_of(a)
    return b.name if i is None else f"{b.name}:{i}"


# ---- checks deferred to the next read ---------------------------------------------------
# A device op that must check its input's values (labels in range) does not read them back
# (a synchronisation per op): it leaves a 0-d boolean flag here, and the next value read
# (.item(), float(), .cpu(), ...) raises the op's message if any flag is set.
PENDING = {}  # message -> device flag (0-d bool array, OR-ed across calls)


def defer_check(flag, message):
    """Raise ValueError(message) at the next read if the device flag `flag` is true."""
    old = PENDING.get(message)
    PENDING[message] = flag if old is None else (old | flag)


def raise_pending():
    """Raise the first deferred check whose flag is set (called at every value read)."""
    items = list(PENDING.items())
    PENDING.clear()
    for message, flag in items:
        if bool(to_host(flag)):
            raise ValueError(message + " (checked on the device; raised at this read)")
