"""Indexing by integer tensors, as torch: gather, scatter, scatter_add, index_select, index_add,
index_fill, index_copy, masked_fill, masked_select, nonzero, take, and their in-place ``_``
forms.

gather and scatter_add are the one pair of primitives (each is the other's vjp, so derivatives
of every order follow); the rest are written from them, getitem and where."""

import numpy as np

from chainrule.core import mode as _mode
from chainrule.core.backend import DEVICE_TYPES, to_like, xp_of
from chainrule.core.function import Function, Nondifferentiable
from chainrule.core.tensor import Tensor, from_array
from chainrule.ops.arithmetic import to_tensor
from chainrule.ops.elementwise import where
from chainrule.ops.inplace import _check_writable, copy_
from chainrule.ops.registry import op

_NOT_DIFF = dict(differentiable=False)


def _mesh(index, axis):
    """Fancy-index tuple that picks x[i_0, .., index[i], .., i_n] for every slot i of index."""
    xp = xp_of(index)
    return tuple(index if d == axis else
                 xp.arange(n).reshape((1,) * d + (n,) + (1,) * (index.ndim - d - 1))
                 for d, n in enumerate(index.shape))


def _index_tensor(index, like):
    """A host index (list, array) as a Tensor on like's device (like: a Tensor or array)."""
    a = getattr(like, "_data", like)
    return from_array(to_like(np.asarray(index), a) if type(a) in DEVICE_TYPES
                      else np.asarray(index))


class Gather(Function):
    """y[i] = x[i with i_dim replaced by index[i]] (torch.gather);  vjp: scatter-add g back"""

    __slots__ = ("axis",)
    reads_values = False

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x, index):
        return x[_mesh(index, self.axis)]

    def vjp(self, g):
        x, index = self.inputs
        return ScatterAdd(self.axis, x.shape)(g, index), None


class ScatterAdd(Function):
    """y = zeros(shape); y[i with i_dim replaced by index[i]] += src[i] (repeated indices add);
    vjp: gather g at the same places"""

    __slots__ = ("axis", "shape")
    reads_values = False

    def __init__(self, axis, shape):
        self.axis, self.shape = axis, shape

    def forward(self, src, index):
        y = xp_of(src).zeros(self.shape, dtype=src.dtype)
        np.add.at(y, _mesh(index, self.axis), src)
        return y

    def vjp(self, g):
        return Gather(self.axis)(g, self.inputs[1]), None


class ScatterMask(Nondifferentiable):
    """y = a boolean tensor of `shape`, True where index points along axis"""

    __slots__ = ("axis", "shape")

    def __init__(self, axis, shape):
        self.axis, self.shape = axis, shape

    def forward(self, index):
        y = np.zeros(self.shape, dtype=bool)
        y[_mesh(index, self.axis)] = True
        return y


class NonZero(Nondifferentiable):
    """y = the (n, ndim) int64 coordinates of x's non-zero elements, in row-major order"""

    __slots__ = ()

    def forward(self, x):
        return np.argwhere(x).astype(np.int64)


def _index(op, index, x, dim, src_shape=None):
    """Check torch's rules for an index tensor of gather/scatter; returns (Tensor, axis)."""
    index = index if isinstance(index, Tensor) else _index_tensor(index, x)
    if index.dtype.kind not in "iu":
        raise TypeError(f"{op}: index must be an integer tensor; got dtype {index.dtype}")
    if index.ndim != max(x.ndim, 1) and not (x.ndim == 0 and index.ndim == 0):
        raise ValueError(f"{op}: index must have as many dims as input; got index shape "
                         f"{index.shape} for input shape {x.shape}")
    if x.ndim == 0:
        return index.reshape(()), None
    axis = dim % x.ndim if -x.ndim <= dim < x.ndim else None
    if axis is None:
        raise ValueError(f"{op}: dim {dim} is out of range for a tensor of {x.ndim} dims")
    i = index._data
    if any(i.shape[d] > x.shape[d] for d in range(x.ndim) if d != axis) or (
            src_shape is not None and any(a > b for a, b in zip(i.shape, src_shape))):
        raise ValueError(f"{op}: index shape {i.shape} is larger than input shape {x.shape}"
                         + (f" or src shape {src_shape}" if src_shape is not None else "")
                         + f" outside dim {axis}")
    if i.size and (i.min() < -x.shape[axis] or i.max() >= x.shape[axis]):
        raise IndexError(f"{op}: index values must lie in [-{x.shape[axis]}, {x.shape[axis]}) "
                         f"along dim {axis}; got min {i.min()}, max {i.max()}")
    if i.size and i.min() < 0:
        index = from_array(i % x.shape[axis])
    return index, axis


def _crop(t, shape):
    """t[:shape[0], :shape[1], ...] (torch uses only the part of src that index covers)."""
    if t.shape == tuple(shape):
        return t
    return t[tuple(slice(0, n) for n in shape)]


@op(methods=("gather",), classes=(Gather, ScatterAdd))
def gather(input, dim, index, *, sparse_grad=False):
    """out[i][j] = input[index[i][j]][j] for dim 0 (torch.gather); the gradient scatter-adds."""
    x = to_tensor(input)
    index, axis = _index("gather", index, x, dim)
    if axis is None:
        return x
    return Gather(axis)(x, index)


def _src(op, src, x, index):
    if isinstance(src, (int, float, bool, np.number)):
        return to_tensor(src, x).broadcast_to(index.shape)
    src = to_tensor(src)
    if src.ndim != index.ndim:
        raise ValueError(f"{op}: src must have as many dims as index; got src shape "
                         f"{src.shape}, index shape {index.shape}")
    return _crop(src, index.shape)


@op(methods=("scatter_add",), classes=(ScatterAdd, Gather))
def scatter_add(input, dim, index, src):
    """out = input, then out[index[i][j]][j] += src[i][j] for dim 0 (repeated indices add)."""
    x = to_tensor(input)
    index, axis = _index("scatter_add", index, x, dim, getattr(src, "shape", None))
    if axis is None:
        return x + src
    return x + ScatterAdd(axis, x.shape)(_src("scatter_add", src, x, index), index)


@op(methods=("scatter",), classes=(ScatterAdd, ScatterMask))
def scatter(input, dim, index, src=None, *, value=None, reduce=None):
    """out = input, then out[index[i][j]][j] = src[i][j] for dim 0 (src may be a number, or
    value=); reduce='add'/'multiply' combine instead. Repeated indices: torch leaves the
    result undefined; here their values add (reduce=None or 'add')."""
    if (src is None) == (value is None):
        raise TypeError("scatter: give src (a tensor or number) or value=, exactly one")
    src = value if src is None else src
    x = to_tensor(input)
    index, axis = _index("scatter", index, x, dim, getattr(src, "shape", None))
    if axis is None:
        return to_tensor(src, x) + 0 * x
    s = ScatterAdd(axis, x.shape)(_src("scatter", src, x, index), index)
    if reduce == "add":
        return x + s
    hit = ScatterMask(axis, x.shape)(index)
    if reduce == "multiply":
        return where(hit, x * s, x)
    if reduce is not None:
        raise ValueError(f"scatter: reduce must be None, 'add' or 'multiply'; got {reduce!r}")
    return where(hit, s, x)


@op(methods=("index_select",))
def index_select(input, dim, index):
    """The slices of input at `index` (1-D integer) along `dim`: input[..., index, ...]."""
    x = to_tensor(input)
    index = index if isinstance(index, Tensor) else _index_tensor(index, input)
    if index.ndim > 1 or index.dtype.kind not in "iu":
        raise TypeError(f"index_select: index must be a 1-D integer tensor; got shape "
                        f"{index.shape}, dtype {index.dtype}")
    if x.ndim == 0:
        return x.reshape(1)[index.reshape(-1)].reshape(index.shape)
    if not -x.ndim <= dim < x.ndim:
        raise ValueError(f"index_select: dim {dim} is out of range for a tensor of {x.ndim} "
                         f"dims")
    return x[(slice(None),) * (dim % x.ndim) + (index.reshape(-1),)]


@op(methods=("index_add",))
def index_add(input, dim, index, source, *, alpha=1):
    """out = input; out[..., index[k], ...] += alpha * source[..., k, ...] along `dim`."""
    x, source = to_tensor(input), to_tensor(source)
    index = index if isinstance(index, Tensor) else _index_tensor(index, input)
    axis = dim % x.ndim
    shape = [1] * source.ndim
    shape[axis] = -1
    full = from_array(np.broadcast_to(index._data.reshape(shape), source.shape))
    return scatter_add(x, axis, full, source * alpha if alpha != 1 else source)


def _dim_mask(op, x, dim, index):
    """(axis, index Tensor, a bool mask broadcastable to x: True at `index` along dim)."""
    index = index if isinstance(index, Tensor) else _index_tensor(index, x)
    if index.ndim > 1 or index.dtype.kind not in "iu":
        raise TypeError(f"{op}: index must be a 1-D integer tensor; got shape {index.shape}, "
                        f"dtype {index.dtype}")
    if not -x.ndim <= dim < max(x.ndim, 1):
        raise ValueError(f"{op}: dim {dim} is out of range for a tensor of {x.ndim} dims")
    axis = dim % max(x.ndim, 1)
    hit = np.zeros(x.shape[axis], dtype=bool)
    hit[index._data.reshape(-1)] = True
    shape = [1] * x.ndim
    shape[axis] = -1
    return axis, index.reshape(-1), from_array(hit.reshape(shape))


@op(methods=("index_fill",))
def index_fill(input, dim, index, value):
    """input with the slices at `index` along `dim` set to value."""
    x = to_tensor(input)
    _, _, hit = _dim_mask("index_fill", x, dim, index)
    return where(hit, to_tensor(value, x), x)


@op(methods=("index_copy",))
def index_copy(input, dim, index, source):
    """input with its slice index[k] along `dim` replaced by source's slice k."""
    x, source = to_tensor(input), to_tensor(source)
    axis, index, hit = _dim_mask("index_copy", x, dim, index)
    return where(hit, index_add(x * 0, axis, index, source), x)


@op(methods=("masked_fill",))
def masked_fill(input, mask, value):
    """input with `value` where the boolean mask (broadcast to input) is True."""
    x = to_tensor(input)
    mask = to_tensor(mask)
    if mask.dtype != np.bool_:
        raise TypeError(f"masked_fill: mask must be a bool tensor; got dtype {mask.dtype}")
    return where(mask, to_tensor(value, x), x)


@op(methods=("masked_select",))
def masked_select(input, mask):
    """1-D tensor of input's elements where the boolean mask (broadcast) is True."""
    x, mask = to_tensor(input), to_tensor(mask)
    if mask.dtype != np.bool_:
        raise TypeError(f"masked_select: mask must be a bool tensor; got dtype {mask.dtype}")
    shape = np.broadcast_shapes(x.shape, mask.shape)
    return x.broadcast_to(shape)[mask.broadcast_to(shape)]


@op(methods=("nonzero",), classes=(NonZero,), **_NOT_DIFF)
def nonzero(input, *, as_tuple=False):
    """(n, ndim) int64 coordinates of the non-zero elements; as_tuple: one 1-D tensor per dim."""
    coords = NonZero()(to_tensor(input))
    if as_tuple:
        return tuple(coords[:, d] for d in range(coords.shape[1]))
    return coords


@op(methods=("argwhere",), **_NOT_DIFF)
def argwhere(input):
    """(n, ndim) int64 coordinates of the non-zero elements (nonzero)."""
    return nonzero(input)


@op(methods=("take",))
def take(input, index):
    """input flattened, picked at `index` (the result has index's shape)."""
    x = to_tensor(input)
    index = index if isinstance(index, Tensor) else _index_tensor(index, input)
    return x.reshape(-1)[index.reshape(-1)].reshape(index.shape)


def _in_place(name, fn, doc):
    def method(self, *args, **kwargs):
        _check_writable(name, self)  # (before computing: the error names this method)
        with _mode.no_grad():
            value = fn(self.detach(), *args, **kwargs)
        return copy_(self, value)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = doc
    op(name, methods=(name,), export=False)(method)


for _name, _fn in [("scatter_", scatter), ("scatter_add_", scatter_add),
                   ("index_add_", index_add), ("masked_fill_", masked_fill),
                   ("index_fill_", index_fill), ("index_copy_", index_copy)]:
    _in_place(_name, _fn, f"In place: self = {_fn.__name__}(self, ...).")
