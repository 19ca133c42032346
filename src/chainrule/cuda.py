"""torch.cuda's questions, answered through CuPy: is_available() is True only when CuPy imports
and a GPU answers; `device = 'cuda' if cr.cuda.is_available() else 'cpu'` runs everywhere.
Install CuPy with the extra that matches your CUDA (pip install chainrule[cuda], see
docs/DEVICES.md)."""

import contextlib

_state = {"backend": None, "error": None}


def _load():
    """The CUDA Backend, or None with the reason kept (CuPy missing, no GPU, a broken driver)."""
    if _state["backend"] is not None or _state["error"] is not None:
        return _state["backend"]
    try:
        import cupy

        if cupy.cuda.runtime.getDeviceCount() < 1:
            raise RuntimeError("no CUDA GPU is visible")
        cupy.zeros(1).sum().item()  # the driver, the runtime and a kernel work
    except Exception as e:  # ImportError, CUDARuntimeError, compile errors: all mean "absent"
        _state["error"] = f"{type(e).__name__}: {e}"
        return None
    _state["backend"] = _make_backend(cupy)
    return _state["backend"]


def _make_backend(cupy):
    import numpy as np

    from chainrule.core import backend as _backend

    try:
        import cupyx.scipy.special as special
    except ImportError:  # pragma: no cover (part of CuPy)
        special = None
    generators = {}

    def rng(index):
        i = cupy.cuda.runtime.getDevice() if index is None else index
        g = generators.get(i)
        if g is None:
            with cupy.cuda.Device(i):
                g = generators[i] = cupy.random.default_rng()
        return g

    def seed(s):
        generators.clear()
        for i in range(cupy.cuda.runtime.getDeviceCount()):
            with cupy.cuda.Device(i):
                generators[i] = cupy.random.default_rng(s)

    def from_host(a, index):
        if index is None:
            return cupy.asarray(a)
        with cupy.cuda.Device(index):
            return cupy.asarray(a)

    def errstate(**kwargs):
        return contextlib.nullcontext()

    b = _backend.Backend("cuda", cupy, cupy.ndarray, to_host=lambda a: np.asarray(a.get()),
                         from_host=from_host, errstate=errstate, special=special,
                         linalg=cupy.linalg, rng=rng, index_of=lambda a: a.device.id,
                         synchronize=lambda: cupy.cuda.get_current_stream().synchronize())
    b.seed = seed  # (a Backend slot)
    _backend.register(b)
    _backend.SEEDERS.append(seed)
    return b


def _backend():
    """The CUDA Backend; RuntimeError naming the reason when CUDA is not available."""
    b = _load()
    if b is None:
        raise RuntimeError("CUDA is not available (" + _state["error"] + "); install CuPy for "
                           "your CUDA (pip install chainrule[cuda]) on a machine with an "
                           "NVIDIA GPU, or use device = 'cuda' if cr.cuda.is_available() else "
                           "'cpu'")
    return b


def is_available():
    """True when CuPy imports and at least one CUDA GPU works."""
    return _load() is not None


def device_count():
    """The number of CUDA GPUs (0 without CuPy or a GPU)."""
    if _load() is None:
        return 0
    import cupy

    return cupy.cuda.runtime.getDeviceCount()


def current_device():
    """The index of the current CUDA device."""
    _backend()
    import cupy

    return cupy.cuda.runtime.getDevice()


def manual_seed(seed):
    """Seed the generators of every CUDA device (nothing to seed without one)."""
    if _load() is not None:
        _state["backend"].seed(int(seed))


manual_seed_all = manual_seed


def synchronize(device=None):
    """Wait for the GPU's queued work (nothing to wait for without one)."""
    if _load() is not None:
        _state["backend"].synchronize()
