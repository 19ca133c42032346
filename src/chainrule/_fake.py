"""The 'fake' device: a testing stand-in for a GPU that runs on the CPU (cr.device('fake')).

Its arrays are `FakeArray`, an ndarray subclass that behaves like a CuPy array where chainrule
could get it wrong: it refuses host ndarrays as operands (move them with .to('fake')), refuses
`__index__`, returns 0-d arrays (not NumPy scalars) from full reductions, and its namespace has
no `errstate`, its Generator only CuPy's methods (no normal, permutation, shuffle, choice) and
its cholesky returns NaN instead of raising. It counts what a GPU would pay for: kernel
launches, value reads (synchronisations) and copies each way, in `counters`.
It is for tests and dry runs, never for speed.
"""

import types

import numpy as np

from chainrule.core import backend as _backend

_base = np.ndarray


class Counters:
    """What the fake device did: launches (ufunc and array-function calls), reads (values
    read back: item, float, bool, tolist), h2d and d2h (copies to and from the device)."""

    __slots__ = ("launches", "reads", "h2d", "d2h")

    def __init__(self):
        self.reset()

    def reset(self):
        """All counts back to 0."""
        self.launches = self.reads = self.h2d = self.d2h = 0

    def snapshot(self):
        """The counts as a dict."""
        return {k: getattr(self, k) for k in self.__slots__}

    def __repr__(self):
        return "Counters(" + ", ".join(f"{k}={v}" for k, v in self.snapshot().items()) + ")"


counters = Counters()


def _host_error(where):
    return TypeError(f"fake device: {where} got a host ndarray; a device computes only on "
                     "device arrays (move it with .to(device))")


def _unwrap(a, where):
    t = type(a)
    if t is FakeArray:
        return a.view(_base)
    if t is _base or (isinstance(a, _base) and t is not FakeArray):
        raise _host_error(where)
    if t is list or t is tuple:
        return t(_unwrap(x, where) for x in a)
    return a


def _own(r):
    """r (a fresh host result) as a fake array that owns its memory (.base None, as a fresh
    CuPy array; a view of r would keep r as its base): one copy, on the fake device only."""
    order = "F" if r.flags.f_contiguous and not r.flags.c_contiguous else "C"
    out = _base.__new__(FakeArray, r.shape, r.dtype, order=order)
    np.copyto(out.view(_base), r)
    return out


def _wrap(r):
    t = type(r)
    if t is _base:
        return r.view(FakeArray) if r.base is not None else _own(r)
    if isinstance(r, np.generic) and not isinstance(r, (np.str_, np.bytes_)):
        return _own(np.asarray(r))  # CuPy returns 0-d arrays, never scalars
    if t is tuple or t is list:
        return t(_wrap(x) for x in r)
    if hasattr(r, "_fields") and isinstance(r, tuple):  # NumPy's named results (eigh, slogdet)
        return type(r)(*(_wrap(x) for x in r))
    return r


def _cholesky(a, *args, **kwargs):
    try:
        return np.linalg.cholesky(a, *args, **kwargs)
    except np.linalg.LinAlgError:  # as cuSOLVER: no error, NaN where the factor fails
        return np.full(np.shape(a), np.nan, dtype=np.result_type(a, np.float32))


_REPLACED = {np.linalg.cholesky: _cholesky}


def _host_read(convert):
    """A FakeArray method that reads the values back to the host with convert (counted)."""

    def read(self, *args):
        counters.reads += 1
        return convert(self.view(_base), *args)

    read.__name__ = getattr(convert, "__name__", "read")
    return read


class FakeArray(np.ndarray):
    """An array on the fake device (an ndarray subclass that acts like a CuPy array)."""

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        counters.launches += 1
        where = f"{ufunc.__name__}"
        args = [_unwrap(a, where) for a in inputs]
        out = kwargs.get("out")
        if out is not None:
            kwargs["out"] = tuple(_unwrap(o, where) for o in out)
        if "where" in kwargs:
            kwargs["where"] = _unwrap(kwargs["where"], where)
        r = getattr(ufunc, method)(*args, **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return _wrap(r)

    def __array_function__(self, func, types, args, kwargs):
        counters.launches += 1
        where = getattr(func, "__name__", "a NumPy function")
        args = _unwrap(args, where)
        out = kwargs.get("out")
        kwargs = {k: _unwrap(v, where) for k, v in kwargs.items()}
        r = _REPLACED.get(func, func)(*args, **kwargs)
        return out if type(out) is FakeArray else _wrap(r)

    def __getitem__(self, key):
        r = _base.__getitem__(self, key)
        return _own(np.asarray(r)) if isinstance(r, np.generic) else r

    def __index__(self):
        raise TypeError("fake device: a device array is not an index (as CuPy); read it with "
                        "int(x) or .item()")

    # reading values back to the host: each counts one read (a device synchronisation)
    item = _host_read(_base.item)
    tolist = _host_read(_base.tolist)
    __float__ = _host_read(float)
    __int__ = _host_read(int)
    __bool__ = _host_read(bool)
    __complex__ = _host_read(complex)

    def __reduce__(self):
        # as CuPy's arrays: the pickle holds a host copy, and loading puts it back on the device
        return _rebuild, (to_host(self),)

    def __repr__(self):
        return "fake(" + repr(self.view(_base)) + ")"

    def get(self):
        """The values as a NumPy array (a device-to-host copy, CuPy's .get())."""
        return to_host(self)


def to_host(a):
    """A NumPy copy of a fake array (one device-to-host copy)."""
    counters.d2h += 1
    return np.array(a.view(_base), copy=True)


def _rebuild(host):
    """A pickled fake array loaded back onto the fake device."""
    return from_host(host)


def from_host(a, index=None):
    """A fake-device copy of host data (one host-to-device copy)."""
    counters.h2d += 1
    return _own(np.asarray(a))


class Generator:
    """A random generator on the fake device with only the methods cupy.random.Generator has
    (random, standard_normal, integers, uniform, ...): no normal, permutation, shuffle, choice."""

    def __init__(self, seed=None):
        self._rng = np.random.default_rng(seed)

    def _draw(self, name, *args, **kwargs):
        counters.launches += 1
        return _own(np.asarray(getattr(self._rng, name)(*args, **kwargs)))

    def random(self, size=None, dtype=np.float64):
        return self._draw("random", size, dtype=dtype)

    def standard_normal(self, size=None, dtype=np.float64):
        return self._draw("standard_normal", size, dtype=dtype)

    def integers(self, low, high=None, size=None, dtype=np.int64, endpoint=False):
        return self._draw("integers", low, high, size, dtype=dtype, endpoint=endpoint)

    def uniform(self, low=0.0, high=1.0, size=None):
        return self._draw("uniform", low, high, size)

    def exponential(self, scale=1.0, size=None):
        return self._draw("exponential", scale, size)

    def standard_exponential(self, size=None):
        return self._draw("standard_exponential", size)

    def poisson(self, lam=1.0, size=None):
        return self._draw("poisson", lam, size)

    def binomial(self, n, p, size=None):
        return self._draw("binomial", n, p, size)

    def gamma(self, shape, scale=1.0, size=None):
        return self._draw("gamma", shape, scale, size)

    def standard_gamma(self, shape, size=None):
        return self._draw("standard_gamma", shape, size)

    def beta(self, a, b, size=None):
        return self._draw("beta", a, b, size)


_generators = {}


def rng(index):
    """The fake device's generator (seeded by cr.manual_seed through seed())."""
    g = _generators.get(index)
    if g is None:
        g = _generators[index] = Generator()
    return g


def seed(s):
    """Reseed the fake device's generators (cr.manual_seed calls this)."""
    _generators.clear()
    _generators[None] = Generator(s)


_CREATION = ("zeros", "ones", "empty", "full", "arange", "eye", "linspace", "identity", "tri")
_MISSING = {"errstate", "geomspace", "random"}


class _Namespace(types.ModuleType):
    """The fake device's xp: NumPy's functions, producing and accepting fake arrays only;
    asarray/array copy host data onto the device (counted)."""

    def __getattr__(self, name):
        if name in _MISSING:
            raise AttributeError(f"fake device: the namespace has no {name} (neither has CuPy)")
        f = getattr(np, name)
        if name in _CREATION:
            def make(*args, _f=f, **kwargs):
                counters.launches += 1
                return _own(_f(*args, **kwargs))
            setattr(self, name, make)
            return make
        return f

    ndarray = FakeArray
    linalg = types.SimpleNamespace(**{k: getattr(np.linalg, k) for k in dir(np.linalg)
                                      if not k.startswith("_")})

    @staticmethod
    def asarray(a, dtype=None):
        if type(a) is FakeArray:
            return a if dtype is None or a.dtype == dtype else a.astype(dtype)
        return from_host(np.asarray(a, dtype=dtype))

    @staticmethod
    def array(a, dtype=None, copy=True):
        if type(a) is FakeArray:
            return a.astype(a.dtype if dtype is None else dtype, copy=True)
        return from_host(np.asarray(a, dtype=dtype))

    @staticmethod
    def ascontiguousarray(a, dtype=None):
        # (NumPy's own returns a plain host ndarray for a subclass: CuPy's stays on the device)
        counters.launches += 1
        return _wrap(np.ascontiguousarray(_unwrap(a, "ascontiguousarray"), dtype=dtype))

    @staticmethod
    def zeros_like(a, dtype=None, shape=None):
        counters.launches += 1
        return _own(np.zeros(a.shape if shape is None else shape,
                             dtype=a.dtype if dtype is None else dtype))

    @staticmethod
    def empty_like(a, dtype=None, shape=None):
        return _Namespace.zeros_like(a, dtype, shape)


_Namespace.linalg.cholesky = _cholesky
_Namespace.lib = types.SimpleNamespace(stride_tricks=types.SimpleNamespace(
    as_strided=lambda a, shape=None, strides=None: np.lib.stride_tricks.as_strided(
        a, shape, strides, subok=True)))
xp = _Namespace("chainrule._fake.xp")


class _Special:
    """Special functions on fake arrays (cupyx.scipy.special's stand-in)."""

    def __getattr__(self, name):
        import scipy.special

        f = getattr(scipy.special, name)

        def call(*args, **kwargs):
            counters.launches += 1
            return _wrap(f(*[_unwrap(a, name) for a in args], **kwargs))
        return call


def _no_errstate(**kwargs):
    import contextlib

    return contextlib.nullcontext()


BACKEND = _backend.Backend("fake", xp, FakeArray, to_host=to_host, from_host=from_host,
                           errstate=_no_errstate, special=_Special(), linalg=xp.linalg, rng=rng)
_backend.register(BACKEND)
_backend.SEEDERS.append(seed)
