"""Random numbers as torch spells them: cr.Generator, manual_seed returning the default
generator, seed/initial_seed, get_rng_state/set_rng_state, randint, randperm, normal,
bernoulli, multinomial, poisson, the *_like factories and the in-place fillers (normal_,
uniform_, bernoulli_, exponential_, random_, ...). Every draw is a RandomDraw (an op with no
inputs: cr.compile draws afresh at every replay), from the default generator or from the
`generator=` given. The streams are NumPy's (PCG64), so the numbers differ from torch's for
the same seed; the distributions, shapes, dtypes and reproducibility are the same."""

import numpy as np

from chainrule._device import check_device, device_of, to_device
from chainrule.core import backend as _backend
from chainrule.core import mode as _mode
from chainrule.core.tensor import Tensor
from chainrule.ops.arithmetic import to_tensor
from chainrule.ops.creation import RandomDraw, _dtype, _shape
from chainrule.ops.inplace import _check_writable, copy_
from chainrule.ops.registry import op

_RANDOM = dict(differentiable=False, pure=False, classes=(RandomDraw,))


class Generator:
    """A random number generator (torch.Generator): manual_seed(s) returns it, initial_seed(),
    get_state()/set_state(); pass it as `generator=` to the random functions and DataLoader."""

    def __init__(self, device="cpu"):
        _device_check("Generator", device)
        self._seed = int(np.random.SeedSequence().entropy % 2 ** 63)
        self._rng = np.random.default_rng(self._seed)

    def manual_seed(self, seed):
        """Reseed; returns self (as torch)."""
        self._seed = _check_seed("Generator.manual_seed", seed)
        self._rng = np.random.default_rng(self._seed)
        return self

    def seed(self):
        """Reseed from fresh entropy; returns the new seed."""
        return self.manual_seed(int(np.random.SeedSequence().entropy % 2 ** 63)).initial_seed()

    def initial_seed(self):
        """The seed this generator was last seeded with."""
        return self._seed

    def get_state(self):
        """The generator's state, for set_state (a dict, NumPy's bit-generator state)."""
        return self._rng.bit_generator.state

    def set_state(self, new_state):
        """Restore a state from get_state."""
        self._rng.bit_generator.state = new_state
        return self

    @property
    def device(self):
        return "cpu"

    def __repr__(self):
        return f"<chainrule.Generator seed={self._seed}>"


class _DefaultGenerator(Generator):
    """The generator chainrule's random functions use when given none (its NumPy Generator is
    the kernel's, core.mode.state.rng, so cr.manual_seed and this object agree)."""

    def __init__(self):
        self._seed = None

    @property
    def _rng(self):
        return _mode.state.rng

    def manual_seed(self, seed):
        _mode.manual_seed(seed)  # (it checks the seed: a non-negative integer)
        self._seed = int(seed)
        return self

    def initial_seed(self):
        if self._seed is None:  # never seeded: record a seed now, as torch reports one
            self.manual_seed(int(np.random.SeedSequence().entropy % 2 ** 63))
        return self._seed


default_generator = _DefaultGenerator()


def _check_seed(op, seed):
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"{op}: seed must be an integer; got {seed!r}")
    return int(seed) % 2 ** 64  # torch wraps negative seeds the same way


def _device_check(op, device):
    if device is not None and str(device) != "cpu":
        raise ValueError(f"{op}: a Generator's stream is the host's (device='cpu'); its draws "
                         f"are copied to the tensor's device; got device={device!r}")


def manual_seed(seed):
    """Seed the default generator (initialisation, shuffles, dropout, draws); returns it."""
    return default_generator.manual_seed(seed)


def seed():
    """Seed the default generator from fresh entropy; returns the seed."""
    return default_generator.manual_seed(int(np.random.SeedSequence().entropy % 2 ** 63))._seed


def initial_seed():
    """The default generator's last seed."""
    return default_generator.initial_seed()


def get_rng_state():
    """The default generator's state (NumPy's bit-generator state dict, not a ByteTensor)."""
    return default_generator.get_state()


def set_rng_state(new_state):
    """Restore the default generator's state from get_rng_state."""
    default_generator.set_state(new_state)


def _rng_of(generator):
    if generator is None:
        return None
    if not isinstance(generator, Generator):
        raise TypeError(f"generator must be a chainrule.Generator; got "
                        f"{type(generator).__name__}")
    return generator


def _draw(kernel, shape, dtype, generator=None, requires_grad=False, device=None,
          native=False):
    """A RandomDraw of kernel(rng, shape) from the given generator (default: the kernel's), on
    `device`: from the device's own generator when the kernel uses only CuPy's Generator
    methods (native), else drawn on the host and copied."""
    gen = _rng_of(generator)
    draw = kernel if gen is None else (lambda _, shape: kernel(gen._rng, shape))
    if device is not None and device.type != "cpu" and (gen is not None or not native):
        draw = (lambda d, dev: lambda r, s: to_device(np.asarray(d(_mode.state.rng if gen is None
                                                                    else r, s)), dev))(draw,
                                                                                       device)
        device = None
    t = RandomDraw(draw, shape, dtype, device)()
    if requires_grad:
        t.requires_grad_(True)
    return t


@op(**_RANDOM)
def randint(low=0, high=None, size=None, *, generator=None, dtype=None, device=None,
            requires_grad=False):
    """Integers drawn uniformly from [low, high) (int64 unless dtype=); randint(high, size)
    also works, as torch."""
    dev = check_device("randint", device)
    if size is None:
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    if high is None or size is None:
        raise TypeError("randint: needs high and size, e.g. randint(10, (3,)) or "
                        "randint(0, 10, (3,))")
    if high <= low:
        raise ValueError(f"randint: high ({high}) must be greater than low ({low})")
    return _draw(lambda rng, s: rng.integers(low, high, s), _shape((size,)),
                 np.dtype(np.int64 if dtype is None else dtype), generator, requires_grad, dev,
                 native=True)


@op(**_RANDOM)
def randperm(n, *, generator=None, dtype=None, device=None, requires_grad=False):
    """A random permutation of 0 .. n-1 (int64)."""
    dev = check_device("randperm", device)
    if n < 0:
        raise ValueError(f"randperm: n must be non-negative; got {n}")
    if dev is not None and dev.type != "cpu" and generator is None:  # CuPy: no permutation
        return _draw(lambda rng, s: rng.random(s).argsort(), (int(n),),
                     np.dtype(np.int64 if dtype is None else dtype), None, requires_grad, dev,
                     native=True)
    return _draw(lambda rng, s: rng.permutation(s[0]), (int(n),),
                 np.dtype(np.int64 if dtype is None else dtype), generator, requires_grad, dev)


@op(**_RANDOM)
def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, requires_grad=False):
    """Normal samples mean + std z; mean and std may be tensors (broadcast), or numbers with
    size=."""
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        m, s = to_tensor(mean), to_tensor(std)
        like = m if isinstance(mean, Tensor) else s
        shape = np.broadcast_shapes(m.shape, s.shape)
        z = _draw(lambda rng, sh: rng.standard_normal(sh), shape, like.dtype, generator)
        return (m.detach() + s.detach() * z).requires_grad_(requires_grad)
    if size is None:
        raise TypeError("normal: give size= when mean and std are numbers")
    return _draw(lambda rng, sh: mean + std * rng.standard_normal(sh), _shape((size,)),
                 _dtype(dtype), generator, requires_grad)


@op(methods=("bernoulli",), **_RANDOM)
def bernoulli(input, p=None, *, generator=None):
    """1 with probability input (or p) elementwise, else 0, in input's dtype."""
    x = to_tensor(input)
    prob = _backend.to_host(x._data) if p is None else np.broadcast_to(
        _backend.to_host(p._data) if isinstance(p, Tensor) else p, x.shape)
    if np.any((prob < 0) | (prob > 1)):
        raise ValueError("bernoulli: probabilities must lie in [0, 1]")
    prob = np.array(prob, dtype=np.float64)
    return _draw(lambda rng, s: rng.random(s) < prob, x.shape, x.dtype, generator,
                 device=device_of(x._data))


@op(methods=("multinomial",), **_RANDOM)
def multinomial(input, num_samples, replacement=False, *, generator=None):
    """num_samples int64 category indices per row, drawn with probability proportional to the
    (non-negative) weights in input's last dim."""
    x = to_tensor(input)
    w = _backend.to_host(x._data).astype(np.float64)
    if w.ndim not in (1, 2) or (w < 0).any() or not np.isfinite(w).all():
        raise ValueError(f"multinomial: input must be 1-D or 2-D non-negative finite weights; "
                         f"got shape {w.shape}")
    rows = w.reshape(-1, w.shape[-1])
    sums = rows.sum(-1)
    if (sums <= 0).any():
        raise ValueError("multinomial: every row of weights must have a positive sum")
    if not replacement and num_samples > (rows > 0).sum(-1).min():
        raise ValueError(f"multinomial: cannot draw {num_samples} samples without replacement "
                         f"from a row with fewer non-zero weights")

    def kernel(rng, shape):
        return np.stack([rng.choice(len(r), num_samples, replace=replacement, p=r / r.sum())
                         for r in rows]).reshape(shape)

    shape = w.shape[:-1] + (int(num_samples),)
    return _draw(kernel, shape, np.dtype(np.int64), generator, device=device_of(x._data))


@op(methods=("poisson",), **_RANDOM)
def poisson(input, generator=None):
    """Poisson samples with the rates in input, in input's dtype."""
    x = to_tensor(input)
    rate = np.array(_backend.to_host(x._data), dtype=np.float64)
    return _draw(lambda rng, s: rng.poisson(rate), x.shape, x.dtype, generator,
                 device=device_of(x._data))


def _like(name, kernel, doc):
    def fn(input, *, dtype=None, requires_grad=False, generator=None):
        x = to_tensor(input)
        return _draw(kernel, x.shape, x.dtype if dtype is None else np.dtype(dtype), generator,
                     requires_grad, device_of(x._data), native=True)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return op(name, **_RANDOM)(fn)


rand_like = _like("rand_like", lambda rng, s: rng.random(s), "Uniform [0, 1) with x's shape.")
randn_like = _like("randn_like", lambda rng, s: rng.standard_normal(s),
                   "Standard normal with x's shape.")


@op(**_RANDOM)
def randint_like(input, low=0, high=None, *, dtype=None, generator=None):
    """Integers uniform on [low, high) with x's shape (and dtype)."""
    x = to_tensor(input)
    if high is None:
        low, high = 0, low
    return _draw(lambda rng, s: rng.integers(low, high, s), x.shape,
                 x.dtype if dtype is None else np.dtype(dtype), generator,
                 device=device_of(x._data), native=True)


@op(differentiable=False)
def empty_like(input, *, dtype=None, requires_grad=False):
    """An uninitialised tensor with x's shape (here: zeros, so results never depend on junk)."""
    x = to_tensor(input)
    t = Tensor(_backend.xp_of(x._data).zeros(x.shape, dtype=x.dtype if dtype is None
                                             else np.dtype(dtype)))
    return t.requires_grad_(requires_grad) if requires_grad else t


def _filler(name, kernel, doc):
    def method(self, *args, generator=None, **kwargs):
        _check_writable(name, self)
        value = _draw(lambda rng, s: kernel(rng, s, *args, **kwargs), self.shape, self.dtype,
                      generator, device=device_of(self._data))
        return copy_(self, value)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = doc
    op(name, methods=(name,), export=False, **_RANDOM)(method)


_filler("normal_", lambda rng, s, mean=0.0, std=1.0: mean + std * rng.standard_normal(s),
        "Fill in place with normal samples mean + std z.")
_filler("uniform_", lambda rng, s, a=0.0, b=1.0: a + (b - a) * rng.random(s),
        "Fill in place with uniform samples on [a, b).")
_filler("bernoulli_", lambda rng, s, p=0.5: rng.random(s) < p,
        "Fill in place with 1 (probability p) or 0.")
_filler("exponential_", lambda rng, s, lambd=1.0: rng.exponential(1.0 / lambd, s),
        "Fill in place with exponential samples of rate lambd.")
_filler("geometric_", lambda rng, s, p: rng.geometric(p, s),
        "Fill in place with geometric samples (trials to the first success, p).")
_filler("log_normal_", lambda rng, s, mean=1.0, std=2.0: rng.lognormal(mean, std, s),
        "Fill in place with log-normal samples exp(mean + std z).")
_filler("cauchy_", lambda rng, s, median=0.0, sigma=1.0: median + sigma * rng.standard_cauchy(s),
        "Fill in place with Cauchy samples.")


def _random_fill(rng, s, low=0, high=None):
    if high is None:
        low, high = 0, (low if low else 2 ** 24)
    return rng.integers(low, high, s)


_filler("random_", _random_fill, "Fill in place with integers uniform on [low, high).")
