"""Tensor conversions and housekeeping as torch spells them: .to(dtype | 'cpu' | other),
.cpu(), .type(), .new_zeros/new_ones/new_full/new_empty/new_tensor, .element_size(),
.nelement(), .stride(), .data_ptr(), .is_floating_point(), .where(cond, y), cr.numel,
cr.detach, and the in-place forms of the everyday elementwise functions (exp_, sqrt_, neg_,
abs_, relu_, sigmoid_, tanh_, pow_, ...).

A device argument is a cr.device or its name ('cpu', 'cuda', 'cuda:1', 'fake'); x.to(device)
is differentiable (the gradient goes back to x's device), see docs/DEVICES.md."""

import numpy as np

from chainrule import _device
from chainrule._device import check_device, device_of, to_device
from chainrule.core import backend as _backend
from chainrule.core import mode as _mode
from chainrule.core.function import Function
from chainrule.core.tensor import Tensor
from chainrule.core.tensor import detach as _detach
from chainrule.ops.arithmetic import to_tensor
from chainrule.ops.elementwise import where as _where
from chainrule.ops.inplace import _check_writable, copy_
from chainrule.ops.registry import op
from chainrule.ops.shape import astype

_TORCH_TYPES = {"float32": "torch.FloatTensor", "float64": "torch.DoubleTensor",
                "float16": "torch.HalfTensor", "int64": "torch.LongTensor",
                "int32": "torch.IntTensor", "int16": "torch.ShortTensor",
                "int8": "torch.CharTensor", "uint8": "torch.ByteTensor",
                "bool": "torch.BoolTensor"}


def _is_dtype(x):
    if isinstance(x, np.dtype) or (isinstance(x, type) and issubclass(x, np.generic)):
        return True
    return False


class ToDevice(Function):
    """y = x on another device (one copy); d y/dx = identity, the gradient copied back"""

    __slots__ = ("device",)

    def __init__(self, device):
        self.device = device

    def forward(self, x):
        return to_device(x, self.device)

    def vjp(self, g):
        return move(g, device_of(self.inputs[0]._data))


def move(x, device):
    """x on `device` (x itself when it is already there), differentiable."""
    if device is None or device_of(x._data) == device:
        return x
    return ToDevice(device)(x)


@op(methods=("to",), export=False, classes=(ToDevice,))
def to(input, *args, dtype=None, device=None, non_blocking=False, copy=False,
       memory_format=None):
    """x converted to a dtype (x.to(cr.float64)), moved to a device (x.to('cuda')), both
    (x.to('cuda', cr.float16)), or to another tensor's dtype and device (x.to(y));
    differentiable between floating dtypes and across devices."""
    for a in args:
        if isinstance(a, Tensor):
            dtype, device = a.dtype, device_of(a._data)
        elif _is_dtype(a):
            dtype = a
        else:
            device = a
    if device is not None:
        device = check_device("to", device)
    y = input if dtype is None else astype(input, dtype)
    y = move(y, device)
    return y.clone() if copy and y is input else y


@op(methods=("cpu",), export=False, classes=(ToDevice,))
def cpu(input, memory_format=None):
    """x on the CPU (x itself when it is there already)."""
    return move(input, check_device("cpu", "cpu"))


@op(methods=("cuda",), export=False, classes=(ToDevice,))
def cuda(input, device=None, non_blocking=False):
    """x on a CUDA device (the current one, or `device`: an index or 'cuda:i')."""
    dev = "cuda" if device is None else device
    dev = check_device("cuda", dev)
    if dev.type != "cuda":
        raise ValueError(f"cuda: expected a CUDA device; got {device!r}")
    return move(input, dev)


@op("type", methods=("type",), export=False)
def type_(input, dtype=None, non_blocking=False):
    """With no argument, torch's type name ('torch.FloatTensor'); with a dtype, x converted."""
    if dtype is None:
        return _TORCH_TYPES.get(input.dtype.name, f"torch.{input.dtype.name}")
    if isinstance(dtype, str):
        names = {v: k for k, v in _TORCH_TYPES.items()}
        if dtype not in names:
            raise TypeError(f"type: unknown tensor type {dtype!r}; give a dtype such as "
                            "cr.float64")
        dtype = names[dtype]
    return astype(input, dtype)


def _device_of_new(name, input, device):
    """new_*'s device: device= if given, else x's."""
    return device_of(input._data) if device is None else check_device(name, device)


def _new(name, fill, doc):
    def method(self, *size, dtype=None, device=None, requires_grad=False):
        dev = _device_of_new(name, self, device)
        if len(size) == 1 and isinstance(size[0], (tuple, list)):
            size = tuple(size[0])
        xp = _device.backend(dev).xp
        t = Tensor(getattr(xp, fill)(tuple(int(n) for n in size),
                                     dtype=self.dtype if dtype is None else dtype))
        return t.requires_grad_(True) if requires_grad else t

    method.__name__ = method.__qualname__ = name
    method.__doc__ = doc
    op(name, methods=(name,), export=False, differentiable=False)(method)


_new("new_zeros", "zeros", "Zeros of `size`, with x's dtype (and device).")
_new("new_ones", "ones", "Ones of `size`, with x's dtype (and device).")
_new("new_empty", "zeros", "A tensor of `size` with x's dtype and device (zeros: never junk).")


@op(methods=("new_full",), export=False, differentiable=False)
def new_full(input, size, fill_value, *, dtype=None, device=None, requires_grad=False):
    """`size` filled with fill_value, with x's dtype."""
    dev = _device_of_new("new_full", input, device)
    t = Tensor(np.full(tuple(size), fill_value, dtype=input.dtype if dtype is None else dtype))
    t = Tensor(to_device(t._data, dev))
    return t.requires_grad_(True) if requires_grad else t


@op(methods=("new_tensor",), export=False, differentiable=False)
def new_tensor(input, data, *, dtype=None, device=None, requires_grad=False):
    """A new tensor from data (copied), with x's dtype unless dtype= is given."""
    dev = _device_of_new("new_tensor", input, device)
    data = _backend.to_host(data._data) if isinstance(data, Tensor) else data
    t = Tensor(to_device(np.array(data, dtype=input.dtype if dtype is None else dtype), dev))
    return t.requires_grad_(True) if requires_grad else t


@op(methods=("element_size",), export=False, differentiable=False)
def element_size(input):
    """Bytes per element."""
    return input.dtype.itemsize


@op(methods=("nelement",), export=False, differentiable=False)
def nelement(input):
    """The number of elements (numel)."""
    return input.numel()


@op(differentiable=False)
def numel(input):
    """The number of elements."""
    return to_tensor(input).numel()


@op(methods=("stride",), export=False, differentiable=False)
def stride(input, dim=None):
    """Strides in elements (torch's unit), or the stride of one dim."""
    s = tuple(b // input.dtype.itemsize for b in input._data.strides)
    return s if dim is None else s[dim]


@op(methods=("data_ptr",), export=False, differentiable=False)
def data_ptr(input):
    """The address of the first element (equal for tensors that share memory at one start)."""
    a = input._data
    if type(a) is not np.ndarray and hasattr(a, "data") and hasattr(a.data, "ptr"):
        return a.data.ptr  # CuPy's device pointer
    return a.__array_interface__["data"][0]


@op(methods=("is_floating_point",), differentiable=False)
def is_floating_point(input):
    """True for a floating dtype."""
    return to_tensor(input).dtype.kind == "f"


@op(methods=("is_complex",), differentiable=False)
def is_complex(input):
    """True for a complex dtype."""
    return to_tensor(input).dtype.kind == "c"


@op(methods=("where",), export=False)
def _where_method(input, condition, other):
    """x.where(condition, y): x where condition, else y (torch's method order)."""
    return _where(condition, input, other)


@op("detach", differentiable=False)
def detach(input):
    """x cut off from the graph, sharing its memory."""
    return _detach(to_tensor(input))


@op(methods=("detach_",), export=False, differentiable=False)
def detach_(input):
    """Cut x itself off from the graph (it becomes a leaf that does not require grad)."""
    input.grad_fn = None
    input.requires_grad = False
    return input


def _in_place(name, base):
    def method(self, *args, **kwargs):
        _check_writable(name, self)  # (before computing: the error names this method)
        with _mode.no_grad():
            value = getattr(self.detach(), base)(*args, **kwargs)
        return copy_(self, value)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"In place: self = self.{base}(...)."
    op(name, methods=(name,), export=False)(method)


for _base in ("exp", "log", "sqrt", "rsqrt", "neg", "abs", "relu", "sigmoid", "tanh", "sin",
              "cos", "pow", "square", "floor", "ceil", "round", "trunc", "sign", "reciprocal",
              "log1p", "expm1", "lerp", "addcmul", "addcdiv", "nan_to_num", "remainder", "fmod",
              "tril", "triu", "clamp_min", "clamp_max"):
    _in_place(_base + "_", _base)


@op(differentiable=False)
def logspace(start, end, steps, base=10.0, *, dtype=None, requires_grad=False):
    """`steps` values base^t for t evenly spaced from start to end inclusive."""
    dtype = _mode.state.default_dtype if dtype is None else np.dtype(dtype)
    t = Tensor(np.logspace(start, end, int(steps), base=base).astype(dtype))
    return t.requires_grad_(True) if requires_grad else t
