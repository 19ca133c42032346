"""Tensor conversions and housekeeping as torch spells them: .to(dtype | 'cpu' | other),
.cpu(), .type(), .new_zeros/new_ones/new_full/new_empty/new_tensor, .element_size(),
.nelement(), .stride(), .data_ptr(), .is_floating_point(), .where(cond, y), cr.numel,
cr.detach, and the in-place forms of the everyday elementwise functions (exp_, sqrt_, neg_,
abs_, relu_, sigmoid_, tanh_, pow_, ...).

chainrule computes on the CPU only: a device argument that is 'cpu' (a string, or
cr.device('cpu')) is accepted, any other raises, naming the op (see docs/TORCH.md)."""

import numpy as np

from chainrule._device import check_device
from chainrule.core import mode as _mode
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


@op(methods=("to",), export=False)
def to(input, *args, dtype=None, device=None, non_blocking=False, copy=False,
       memory_format=None):
    """x converted to a dtype (x.to(cr.float64)), to the CPU (x.to('cpu'), a no-op), or to
    another tensor's dtype (x.to(y)); differentiable between floating dtypes."""
    for a in args:
        if isinstance(a, Tensor):
            dtype = a.dtype
        elif _is_dtype(a):
            dtype = a
        else:
            device = a
    check_device("to", device)
    y = input if dtype is None else astype(input, dtype)
    return y.clone() if copy and y is input else y


@op(methods=("cpu",), export=False)
def cpu(input, memory_format=None):
    """x itself (chainrule's tensors live on the CPU)."""
    return input


@op(methods=("cuda",), export=False)
def cuda(input, device=None, non_blocking=False):
    """Refused: chainrule computes on the CPU only."""
    raise ValueError("cuda: chainrule computes on the CPU only; drop .cuda() (or use "
                     ".to(device) with device = 'cpu'), see docs/TORCH.md")


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


def _new(name, fill, doc):
    def method(self, *size, dtype=None, device=None, requires_grad=False):
        check_device(name, device)
        if len(size) == 1 and isinstance(size[0], (tuple, list)):
            size = tuple(size[0])
        t = Tensor(fill(tuple(int(n) for n in size), self.dtype if dtype is None else dtype))
        return t.requires_grad_(True) if requires_grad else t

    method.__name__ = method.__qualname__ = name
    method.__doc__ = doc
    op(name, methods=(name,), export=False, differentiable=False)(method)


_new("new_zeros", np.zeros, "Zeros of `size`, with x's dtype.")
_new("new_ones", np.ones, "Ones of `size`, with x's dtype.")
_new("new_empty", np.zeros, "A tensor of `size` with x's dtype (zeros: never junk).")


@op(methods=("new_full",), export=False, differentiable=False)
def new_full(input, size, fill_value, *, dtype=None, device=None, requires_grad=False):
    """`size` filled with fill_value, with x's dtype."""
    check_device("new_full", device)
    t = Tensor(np.full(tuple(size), fill_value, dtype=input.dtype if dtype is None else dtype))
    return t.requires_grad_(True) if requires_grad else t


@op(methods=("new_tensor",), export=False, differentiable=False)
def new_tensor(input, data, *, dtype=None, device=None, requires_grad=False):
    """A new tensor from data (copied), with x's dtype unless dtype= is given."""
    check_device("new_tensor", device)
    data = data._data if isinstance(data, Tensor) else data
    t = Tensor(np.array(data, dtype=input.dtype if dtype is None else dtype))
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
    return input._data.__array_interface__["data"][0]


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
