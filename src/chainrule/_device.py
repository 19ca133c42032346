"""Devices, as torch names them: cr.device('cpu'), cr.device('cuda'), cr.device('cuda:1') and
the testing device cr.device('fake'); the default device of the factories; moving arrays.

A device's arrays come from its backend (chainrule/_backend.py): NumPy on the CPU, CuPy on
CUDA (when CuPy and a GPU work), the fake device's counting ndarray subclass in tests."""

from chainrule.core import backend as _backend
from chainrule.core.tensor import Tensor

_TYPES = ("cpu", "cuda", "fake")


class device:
    """A device (torch.device): device('cpu'), device('cuda'), device('cuda:1'),
    device('cuda', 1), or the testing device device('fake')."""

    __slots__ = ("type", "index")

    def __init__(self, type="cpu", index=None):
        if isinstance(type, device):
            type, index = type.type, type.index if index is None else index
        name, colon, number = str(type).partition(":")
        if name not in _TYPES:
            raise ValueError(f"device: unknown device {type!r}; expected 'cpu', 'cuda', "
                             "'cuda:N' or 'fake' (the testing device)")
        if colon:
            try:
                index = int(number)
            except ValueError:
                raise ValueError(f"device: the index in {type!r} must be an integer") from None
        if index is not None and (not isinstance(index, int) or index < 0):
            raise ValueError(f"device: index must be a non-negative integer; got {index!r}")
        self.type, self.index = name, index

    def __eq__(self, other):
        if isinstance(other, str):
            try:
                other = device(other)
            except ValueError:
                return False
        if not isinstance(other, device):
            return NotImplemented
        if self.type != other.type:
            return False
        return self.index is None or other.index is None or self.index == other.index

    def __hash__(self):
        return hash(self.type)

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"


CPU = device("cpu")
_BY_NAME = {"cpu": _backend.CPU}
LOADERS = {}  # device type name -> loader of its Backend (chainrule/__init__.py fills it)


def named(name):
    """The Backend of a device type name, loading it ('fake', 'cuda') on first use."""
    b = _BY_NAME.get(name)
    if b is None:
        load = LOADERS.get(name)
        if load is None:
            raise ValueError(f"device: unknown device type {name!r}; expected 'cpu', 'cuda' or "
                             "'fake'")
        b = _BY_NAME[name] = load()
    return b
_default = None  # the factories' device when none is given (None: the CPU)


def as_device(dev):
    """A device from a device, a string or an int (a CUDA index); None stays None."""
    if dev is None or isinstance(dev, device):
        return dev
    if isinstance(dev, int) and not isinstance(dev, bool):
        return device("cuda", dev)
    if isinstance(dev, str):
        return device(dev)
    raise TypeError(f"device: expected a device, a string such as 'cuda' or an index; got "
                    f"{type(dev).__name__}")


def backend(dev):
    """The Backend of a device (loading CuPy or the fake device on first use)."""
    return _backend.CPU if dev.type == "cpu" else named(dev.type)


def check_device(op_name, dev):
    """The device an op's device= asks for (None: the default device); refuses unknown names and
    CUDA when it is unavailable, naming the op."""
    if dev is None:
        return _default
    try:
        dev = as_device(dev)
        if dev.type != "cpu":
            backend(dev)
    except (ValueError, TypeError, RuntimeError) as e:
        raise type(e)(f"{op_name}: {e}") from None
    return dev


def device_of(a):
    """The device an array lives on."""
    b = _backend.backend_of(a)
    if b is _backend.CPU:
        return CPU
    return device(b.name, b.index_of(a))


def to_device(a, dev):
    """Array a on device dev (a itself when it is already there; else one copy through the
    host, or between devices)."""
    if dev is None:
        return a
    src = _backend.backend_of(a)
    if dev.type == src.name and (dev.index is None or dev.index == src.index_of(a)):
        return a
    if _backend.PENDING and src is not _backend.CPU:  # a read from the device
        _backend.raise_pending()
    host = src.to_host(a)
    if dev.type == "cpu":
        return host
    return backend(dev).from_host(host, dev.index)


def set_default_device(dev):
    """The device the factories (tensor, zeros, randn, ...) and new parameters use when given
    none (torch.set_default_device); None or 'cpu' restores the CPU."""
    global _default
    dev = as_device(dev)
    if dev is not None and dev.type != "cpu":
        _backend.DEFAULT = (backend(dev), dev.index)
        _default = dev
    else:
        _backend.DEFAULT = _default = None


def get_default_device():
    """The factories' device (torch.get_default_device)."""
    return CPU if _default is None else _default


def default_device():
    """The default device, None when it is the CPU (the factories' fast path)."""
    return _default


def _tensor_device(self):
    """The device the data lives on (cr.device('cpu'), 'cuda:0', 'fake')."""
    return device_of(self._data)


Tensor.device = property(_tensor_device)  # installed from above, as the op methods are
Tensor.is_cuda = property(lambda self: _backend.backend_of(self._data).name == "cuda",
                          doc="True on a CUDA device.")


def require_host(op, *values):
    """Refuse device tensors (or modules with device parameters) at an instrument's edge: it
    computes on the host, so the caller moves them with .cpu() first."""
    for v in values:
        if isinstance(v, (list, tuple)):
            require_host(op, *v)
            continue
        if hasattr(v, "parameters") and callable(v.parameters):  # a Module
            require_host(op, *list(v.parameters())[:1])
            continue
        a = getattr(v, "_data", None)
        if a is not None and type(a) in _backend.DEVICE_TYPES:
            raise TypeError(f"{op}: computes on the host; got a tensor on device "
                            f"'{device_of(a)}' (move it, or the model, with .cpu() first)")
