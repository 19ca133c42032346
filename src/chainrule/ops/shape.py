"""Shape ops: reshape permute broadcast_to getitem take_along_dim concatenate split pad astype.

Their vjps are each other: reshape <-> reshape, broadcast_to <-> sum_to, getitem <-> index_add,
concatenate <-> split, pad <-> getitem. Views share the version counter of their base, so an
in-place write through a view is seen by the graph nodes that saved the base.
"""

import numpy as np

from chainrule import _numba
from chainrule.core.backend import to_host, to_like, xp_of
from chainrule.core.broadcast import BroadcastTo, SumTo, broadcast_to
from chainrule.core.function import Function
from chainrule.core.tensor import Tensor, from_array, share_version
from chainrule.ops.arithmetic import to_tensor
from chainrule.ops.registry import op


class Reshape(Function):
    """y = x viewed with a new shape;  vjp: g reshaped back"""

    __slots__ = ("shape",)
    reads_values = False

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        return x.reshape(self.shape)

    def vjp(self, g):
        return g.reshape(self.inputs[0].shape)


class Permute(Function):
    """y = x with axes permuted;  vjp: g permuted by the inverse permutation"""

    __slots__ = ("axes",)
    reads_values = False

    def __init__(self, axes):
        self.axes = axes

    def forward(self, x):
        return x.transpose(self.axes)

    def vjp(self, g):
        return permute(g, tuple(np.argsort(self.axes)))


class GetItem(Function):
    """y = x[index];  vjp: g added into zeros at index (index_add, repeats accumulate)

    The index's integer and boolean arrays are inputs after x (the index keeps a placeholder
    for each), so a compiled step replays it with each call's indices.
    """

    __slots__ = ("index",)
    reads_values = False

    def __init__(self, index):
        self.index = index

    def forward(self, x, *arrays):
        if self.index is _ARRAY and type(x) is np.ndarray and x.ndim \
                and arrays[0].dtype.kind in "iu":  # x[i]: the same rows, ~2x faster (embeddings)
            return np.take(x, arrays[0], axis=0)
        return x[_fill_index(self.index, arrays) if arrays else self.index]

    def output_shape_varies(self, x, *arrays):
        """A boolean mask selects as many elements as it has True values (cr.compile guards)."""
        return any(a.dtype == bool for a in arrays)

    def vjp(self, g):
        x, *arrays = self.inputs
        return (IndexAdd(self.index, x.shape)(g, *arrays),) + (None,) * len(arrays)


class IndexAdd(Function):
    """y = zeros(shape) with g added at index;  vjp: y's gradient read at index"""

    __slots__ = ("index", "shape")
    reads_values = False

    def __init__(self, index, shape):
        self.index, self.shape = index, shape

    def forward(self, g, *arrays):
        out = xp_of(g).zeros(self.shape, dtype=g.dtype)
        if not arrays:
            out[self.index] = g  # basic indexing: every position at most once
        elif self.index is _ARRAY and arrays[0].dtype.kind in "iu" and out.ndim \
                and type(out) is np.ndarray:
            _rows_add(out, arrays[0], g)  # x[idx] (an embedding's lookup): rows summed
        else:
            np.add.at(out, _fill_index(self.index, arrays), g)  # repeated indices accumulate
        return out

    def vjp(self, g):
        _, *arrays = self.inputs
        return (GetItem(self.index)(g, *arrays),) + (None,) * len(arrays)


def _rows_add(out, index, g):
    """out[index[j]] += g[j] for every j, repeated rows accumulating: the rows of g grouped by
    index with a stable sort and summed per group (np.add.reduceat), ~4x faster than
    np.add.at on an embedding's backward."""
    n = out.shape[0]
    idx = index.reshape(-1)
    if idx.size == 0:
        return
    kernels = _numba.get()
    if kernels is not None and out.size and (idx.dtype.kind == "i" or idx.itemsize < 8):
        # the same sums, in one pass in numba (a uint64 index plus an int64 is a float there)
        rows = g.reshape((idx.size, -1))
        if _numba.fits(out, rows):
            bad = kernels.rows_add(out.reshape(n, -1), idx, rows)
            if bad:
                raise IndexError(f"index {int(idx[bad - 1])} is out of bounds for axis 0 "
                                 f"with size {n}")
            return
    idx = np.where(idx < 0, idx + n, idx)  # -1 and n - 1 are one row
    order = np.argsort(idx, kind="stable")
    rows = idx[order]
    starts = np.flatnonzero(np.concatenate(([True], rows[1:] != rows[:-1])))
    flat = g.reshape((idx.size,) + out.shape[1:])
    out[rows[starts]] = np.add.reduceat(flat[order], starts, axis=0)


class _ArrayPart:
    """Where an index array goes in GetItem's index (the array itself is an input)."""

    __slots__ = ()

    def __repr__(self):
        return "<array>"


_ARRAY = _ArrayPart()


def _fill_index(template, arrays):
    if template is _ARRAY:
        return arrays[0]
    parts = iter(arrays)
    return tuple(next(parts) if i is _ARRAY else i for i in template)


class Concatenate(Function):
    """y = [x_1, ..., x_n] joined along axis;  vjp: g split at the same boundaries"""

    __slots__ = ("axis",)
    reads_values = False

    def __init__(self, axis):
        self.axis = axis

    def forward(self, *xs):
        return np.concatenate(xs, axis=self.axis)

    def vjp(self, g):
        sizes = [t.shape[self.axis] for t in self.inputs]
        return Split(sizes, self.axis)(g)


class Split(Function):
    """(y_1, ..., y_n) = consecutive pieces of x along axis;  vjp: the pieces' grads joined"""

    __slots__ = ("sizes", "axis", "shape")
    reads_values = False

    def __init__(self, sizes, axis):
        self.sizes, self.axis = sizes, axis

    def forward(self, x):
        self.shape = x.shape
        # basic slices, the views np.split makes (without its ~10 us of Python for 3 pieces)
        index, start, pieces = [slice(None)] * x.ndim, 0, []
        axis = self.axis % x.ndim
        for n in self.sizes:
            index[axis] = slice(start, start + n)
            pieces.append(x[tuple(index)])
            start += n
        return tuple(pieces)

    def vjp(self, gs):
        pieces = []
        for g, n in zip(gs, self.sizes):
            if g is None:
                axis = self.axis % len(self.shape)  # (a negative axis, as dim=-1)
                shape = self.shape[:axis] + (n,) + self.shape[axis + 1:]
                g = from_array(xp_of(self.inputs[0]).zeros(shape, dtype=self.inputs[0].dtype))
            pieces.append(g)
        return Concatenate(self.axis)(*pieces)


class Pad(Function):
    """y = x surrounded by a constant;  vjp: g cropped back to x"""

    __slots__ = ("pad_width", "value")
    reads_values = False

    def __init__(self, pad_width, value):
        self.pad_width, self.value = pad_width, value

    def forward(self, x):
        return np.pad(x, self.pad_width, mode="constant", constant_values=self.value)

    def vjp(self, g):
        crop = tuple(slice(lo, g.shape[i] - hi) for i, (lo, hi) in enumerate(self.pad_width))
        return g[crop]


class Astype(Function):
    """y = x converted to another dtype;  vjp: g converted back"""

    __slots__ = ("dtype",)
    reads_values = False

    def __init__(self, dtype):
        self.dtype = dtype

    def forward(self, x):
        return x.astype(self.dtype)

    def vjp(self, g):
        return g.astype(self.inputs[0].dtype)


class Clone(Function):
    """y = a copy of x;  dy/dx = 1"""

    __slots__ = ()
    reads_values = False

    def forward(self, x):
        return x.copy()

    def vjp(self, g):
        return g


class TakeAlongAxis(Function):
    """y = x picked at one index per slot along axis (np.take_along_axis; the index, an integer
    array with length 1 along axis, is the second input);  vjp: g put back"""

    __slots__ = ("axis",)
    reads_values = False

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x, index):
        return np.take_along_axis(x, index, self.axis)

    def vjp(self, g):
        x, index = self.inputs
        return PutAlongAxis(self.axis, x.shape)(g, index), None


class PutAlongAxis(Function):
    """y = zeros(shape) with g written at index along axis;  vjp: take_along_axis of g"""

    __slots__ = ("axis", "shape")
    reads_values = False

    def __init__(self, axis, shape):
        self.axis, self.shape = axis, shape

    def forward(self, g, index):
        y = xp_of(g).zeros(self.shape, dtype=g.dtype)
        np.put_along_axis(y, index, g, self.axis)  # one index per slot: no collisions
        return y

    def vjp(self, g):
        return TakeAlongAxis(self.axis)(g, self.inputs[1]), None


def _is_basic(index):
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, np.integer, slice)) or i is None or i is Ellipsis
               for i in items)


def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(int(n) for n in shape)


@op(methods=("reshape", "view"), classes=(Reshape,))
def reshape(input, *shape):
    """View x with a new shape (one entry may be -1)."""
    x = to_tensor(input)
    shape = _shape_arg(shape)
    try:
        return share_version(Reshape(shape)(x), x)
    except ValueError:
        raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} ({x.size} "
                         f"elements) into {shape}") from None


@op(methods=("flatten",))
def flatten(input, start_dim=0, end_dim=-1):
    """Merge dims start_dim..end_dim into one (PyTorch's flatten)."""
    x = to_tensor(input)
    if x.ndim == 0:
        return reshape(x, 1)
    s, e = start_dim % x.ndim, end_dim % x.ndim
    if s > e:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for "
                         f"shape {x.shape}")
    return reshape(x, x.shape[:s] + (-1,) + x.shape[e + 1:])


@op(methods=("ravel",))
def ravel(input):
    """x as one dimension (torch.ravel)."""
    return reshape(input, -1)


@op(methods=("permute",), classes=(Permute,))
def permute(input, *dims):
    """Reorder the dims of x (NumPy's transpose with explicit axes)."""
    x = to_tensor(input)
    dims = _shape_arg(dims)
    if sorted(a % max(x.ndim, 1) for a in dims) != list(range(x.ndim)):
        raise ValueError(f"permute: {dims} is not a permutation of the {x.ndim} dims of a "
                         f"tensor of shape {x.shape}")
    return share_version(Permute(tuple(a % x.ndim for a in dims))(x), x)


@op(methods=("transpose", "swapaxes", "swapdims"), also=("swapaxes", "swapdims"))
def transpose(input, dim0=-2, dim1=-1):
    """Exchange two dims (torch.transpose; the last two by default)."""
    x = to_tensor(input)
    if x._data.ndim == 2 and dim0 in (0, -2) and dim1 in (1, -1):  # a matrix's .mT
        return share_version(Permute((1, 0))(x), x)
    dims = list(range(x.ndim))
    try:
        dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
    except IndexError:
        raise ValueError(f"transpose: dims ({dim0}, {dim1}) are out of range for shape "
                         f"{x.shape}") from None
    return permute(x, dims)


swapaxes = transpose


@op(properties=("T",), export=False)
def _reversed_dims(input):
    """All dims reversed (NumPy's .T)."""
    return permute(input, tuple(range(input.ndim - 1, -1, -1)))


@op(properties=("mT",), export=False)
def _matrix_transpose(input):
    """The last two dims swapped (a batch of matrices transposed)."""
    return transpose(input, -1, -2)


@op(methods=("squeeze",))
def squeeze(input, dim=None):
    """Remove dims of length 1 (all of them, or the given ones)."""
    x = to_tensor(input)
    if dim is None:
        return reshape(x, tuple(n for n in x.shape if n != 1))
    dims = {a % max(x.ndim, 1) for a in ((dim,) if isinstance(dim, int) else dim)}
    return reshape(x, tuple(n for i, n in enumerate(x.shape) if i not in dims or n != 1))


@op(methods=("unsqueeze",))
def unsqueeze(input, dim):
    """Insert a dim of length 1 at position `dim`."""
    x = to_tensor(input)
    dim = dim % (x.ndim + 1)
    return reshape(x, x.shape[:dim] + (1,) + x.shape[dim:])


@op("broadcast_to", methods=("broadcast_to",), classes=(BroadcastTo, SumTo))
def _broadcast_to(input, size):
    """Repeat x along new or length-1 dims to `size` (a read-only view)."""
    return broadcast_to(to_tensor(input), _shape_arg((size,)))


@op(methods=("expand",))
def expand(input, *sizes):
    """x broadcast to `sizes`, where -1 keeps a dim's length (torch's expand)."""
    x = to_tensor(input)
    sizes = _shape_arg(sizes)
    lead = len(sizes) - x.ndim
    if lead < 0:
        raise ValueError(f"expand: the number of sizes ({len(sizes)}) must be at least the "
                         f"number of dims of the tensor ({x.ndim})")
    shape = tuple(x.shape[i - lead] if n == -1 and i >= lead else n
                  for i, n in enumerate(sizes))
    return broadcast_to(x, shape)


@op(methods=("expand_as",))
def expand_as(input, other):
    """x broadcast to other's shape."""
    return broadcast_to(to_tensor(input), other.shape)


def _convert_index(index):
    if isinstance(index, Tensor):
        return index._data
    if isinstance(index, tuple):
        return tuple(i._data if isinstance(i, Tensor) else i for i in index)
    if isinstance(index, list):
        return np.asarray(index)
    return index


def _tensor_index(index):
    """(the index with each integer/boolean array part replaced by a placeholder, those parts
    as Tensors): GetItem takes them as inputs, so a compiled step sees where they came from."""
    if isinstance(index, (int, slice)) or index is None or index is Ellipsis:
        return index, []  # basic indexing, the common case: nothing to take apart
    items = index if isinstance(index, tuple) else (index,)
    parts, arrays = [], []
    for i in items:
        if isinstance(i, list):
            i = np.asarray(i)
        if isinstance(i, (Tensor, np.ndarray)):
            arrays.append(i if isinstance(i, Tensor) else from_array(i))
            i = _ARRAY
        parts.append(i)
    return (tuple(parts) if isinstance(index, tuple) else parts[0]), arrays


@op(methods=("__getitem__",), classes=(GetItem, IndexAdd), export=False)
def getitem(input, index):
    """x[index] with ints, slices, None, Ellipsis, integer arrays and boolean masks."""
    template, arrays = _tensor_index(index)
    if arrays and type(input._data) is not np.ndarray:  # host index arrays join x's device
        arrays = [a if type(a._data) is type(input._data) else
                  from_array(to_like(to_host(a._data), input._data)) for a in arrays]
    try:
        y = GetItem(template)(input, *arrays)
    except IndexError as e:
        raise IndexError(f"getitem: index {_convert_index(index)!r} is invalid for a tensor of "
                         f"shape {input.shape}: {e}") from None
    return share_version(y, input) if not arrays and _is_basic(template) else y


@op(methods=("take_along_dim",), classes=(TakeAlongAxis, PutAlongAxis))
def take_along_dim(input, indices, dim):
    """x picked at `indices` along `dim` (np.take_along_axis), differentiable."""
    x = to_tensor(input)
    index = indices._data if isinstance(indices, Tensor) else np.asarray(indices)
    index = indices if isinstance(indices, Tensor) and type(index) is type(x._data) else \
        from_array(to_like(to_host(index), x._data))
    return TakeAlongAxis(dim % x.ndim)(x, index)


@op(classes=(Concatenate, Split), also=("cat", "concat"))
def concatenate(tensors, dim=0):
    """Join tensors along an existing dim (torch.cat)."""
    tensors = [to_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("concatenate: needs at least one tensor")
    try:
        return Concatenate(dim)(*tensors)
    except (ValueError, np.exceptions.AxisError):
        shapes = ", ".join(str(t.shape) for t in tensors)
        raise ValueError(f"concatenate: shapes {shapes} do not match except along dim "
                         f"{dim}") from None


cat = concatenate


@op()
def stack(tensors, dim=0):
    """Join tensors of equal shape along a new dim."""
    tensors = [to_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("stack: needs at least one tensor")
    shapes = {t.shape for t in tensors}
    if len(shapes) != 1:
        raise ValueError(f"stack: all tensors must have the same shape; got {sorted(shapes)}")
    return concatenate([unsqueeze(t, dim) for t in tensors], dim)


@op(methods=("split",), returns="tuple", classes=(Split,))
def split(tensor, split_size_or_sections, dim=0):
    """Split into pieces of `split_size` (last may be smaller) or of the given sizes (PyTorch)."""
    x = to_tensor(tensor)
    dim = dim % x.ndim
    n = x.shape[dim]
    if isinstance(split_size_or_sections, (int, np.integer)):
        step = int(split_size_or_sections)
        if step <= 0:
            raise ValueError(f"split: split_size must be positive; got {step}")
        sizes = [step] * (n // step) + ([n % step] if n % step else [])
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != n:
            raise ValueError(f"split: sizes {sizes} add up to {sum(sizes)} but dim "
                             f"{dim} has length {n}")
    return Split(sizes, dim)(x)


@op(methods=("pad",), classes=(Pad,))
def pad(input, pad_width, value=0.0):
    """Pad with a constant; pad_width as NumPy's: ((before, after), ...) per dim or one pair
    (torch's last-dim-first flat list is F.pad)."""
    x = to_tensor(input)
    width = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (x.ndim, 2))
    if (width < 0).any():
        raise ValueError(f"pad: pad widths must be non-negative; got {pad_width}")
    return Pad(tuple((int(a), int(b)) for a, b in width), value)(x)


@op(methods=("astype",), classes=(Astype,))
def astype(input, dtype):
    """Convert to `dtype` (differentiable between floating dtypes)."""
    dtype = np.dtype(dtype)
    if input.dtype == dtype:
        return input
    if input.requires_grad and dtype.kind not in "fc":
        raise TypeError(f"astype: cannot convert a tensor that requires grad to non-floating "
                        f"dtype {dtype}; .detach() it first")
    return Astype(dtype)(input)


def _cast(name, dtype, doc):
    def cast(input):
        return astype(input, dtype)

    cast.__name__ = cast.__qualname__ = name
    cast.__doc__ = doc
    op(name, methods=(name,), export=False)(cast)


_cast("float", np.float32, "Convert to float32.")
_cast("double", np.float64, "Convert to float64.")
_cast("half", np.float16, "Convert to float16.")
_cast("long", np.int64, "Convert to int64.")
_cast("int", np.int32, "Convert to int32.")
_cast("bool", np.bool_, "Convert to bool.")


@op(methods=("type_as",))
def type_as(input, other):
    """Convert to other's dtype."""
    return astype(input, other.dtype)


@op(methods=("clone",), classes=(Clone,))
def clone(input):
    """A copy of x that stays in the graph."""
    return Clone()(input)

