"""chainrule: the mathematics of neural networks from first principles, fast enough to use.

    >>> import chainrule as cr
    >>> x = cr.tensor(2.0, requires_grad=True)
    >>> y = x * x * x
    >>> y.backward()
    >>> x.grad.item()
    12.0
"""

import numpy as _np

from chainrule import _memory

_memory.tune_malloc()  # before the first large array: see _memory.py

from chainrule import (  # noqa: E402  (ops installs the Tensor methods)
    _device,  # noqa: E402
    _dtypes,
    autograd,
    ops,
)
from chainrule._device import device, get_default_device, set_default_device  # noqa: E402
from chainrule._dtypes import (  # noqa: E402
    bool,
    cdouble,
    cfloat,
    complex64,
    complex128,
    double,
    float,
    float16,
    float32,
    float64,
    half,
    int,
    int8,
    int16,
    int32,
    int64,
    long,
    short,
    uint8,
)
from chainrule.compile import CompileError, compile, effect  # noqa: E402
from chainrule.core import Function, Size, Tensor  # noqa: E402
from chainrule.core.gradcheck import gradcheck, gradgradcheck  # noqa: E402
from chainrule.core.mode import (  # noqa: E402
    enable_grad,
    get_default_dtype,
    inference_mode,
    is_grad_enabled,
    no_grad,
    set_default_dtype,
    set_grad_enabled,
)
from chainrule.core.transforms import (  # noqa: E402
    grad,
    hessian,
    hvp,
    jacobian,
    jvp,
    value_and_grad,
    vjp,
)
from chainrule.ops import return_types  # noqa: E402
from chainrule.ops.registry import exports as _op_exports  # noqa: E402
from chainrule.ops.sampling import (  # noqa: E402  (torch's random-number API)
    Generator,
    default_generator,
    get_rng_state,
    initial_seed,
    manual_seed,
    seed,
    set_rng_state,
)

globals().update(_op_exports())  # every registered op: cr.exp, cr.sum, cr.max, cr.cat, ...
dtype = _np.dtype  # cr.float32 is a NumPy dtype
finfo, iinfo = _dtypes.finfo, _dtypes.iinfo

from chainrule import _display  # noqa: E402  (Tensor's rich display in Jupyter)

_display.install(Tensor)

__version__ = "0.1.0"

# Higher layers load on first use, so `import chainrule` pulls in NumPy only.
_SUBPACKAGES = ("nn", "optim", "optimize", "linear", "decomposition", "distributions", "info",
                "inspect", "train", "data", "report", "distributed", "utils", "cuda", "backends")
_SUBPACKAGES += ("linalg",)  # cr.linalg: torch.linalg's ops (registered in ops/linalg_*.py)


def _load_fake():
    from chainrule import _fake

    return _fake.BACKEND


def _load_cuda():
    from chainrule import cuda

    return cuda._backend()


_device.LOADERS.update(fake=_load_fake, cuda=_load_cuda)


def is_tensor(obj):
    """True when obj is a chainrule Tensor."""
    return isinstance(obj, Tensor)


def __getattr__(name):
    if name in _SUBPACKAGES:
        import importlib

        return importlib.import_module(f"chainrule.{name}")
    if name in ("save", "load"):  # checkpoints: safetensors + JSON metadata (chainrule.train)
        from chainrule.train import checkpoint

        return getattr(checkpoint, name)
    raise AttributeError(f"module 'chainrule' has no attribute {name!r}")


__all__ = sorted(set(_op_exports()) | set(_dtypes.NAMES) | {
    "CompileError", "Function", "Size", "Tensor", "autograd", "compile", "effect",
    "enable_grad", "get_default_dtype", "grad", "gradcheck", "gradgradcheck", "hessian", "hvp",
    "inference_mode", "is_grad_enabled", "is_tensor", "jacobian", "jvp", "manual_seed",
    "no_grad", "return_types", "set_default_dtype", "set_grad_enabled", "value_and_grad", "vjp",
    "Generator", "default_generator", "device", "dtype", "finfo", "get_rng_state", "iinfo",
    "initial_seed", "seed", "set_rng_state", "set_default_device", "get_default_device",
})
