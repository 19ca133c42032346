"""Shape ops: reshape permute broadcast_to sum_to getitem concatenate split pad astype.

Their vjps are each other: reshape <-> reshape, broadcast_to <-> sum_to, getitem <-> index_add,
concatenate <-> split, pad <-> getitem. Views share the version counter of their base, so an
in-place write through a view is seen by the graph nodes that saved the base.
"""

import numpy as np

from chainrule.core.function import Function
from chainrule.core.tensor import Tensor, make
from chainrule.ops.arithmetic import to_tensor


def _share_version(view, base):
    if base._vc is None:
        base._vc = [0]
    view._vc = base._vc
    return view


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


class BroadcastTo(Function):
    """y = x repeated along broadcast axes;  vjp: g summed over them (sum_to)"""

    __slots__ = ("shape",)
    reads_values = False

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        return np.broadcast_to(x, self.shape)

    def vjp(self, g):
        return sum_to(g, self.inputs[0].shape)


class SumTo(Function):
    """y = x summed over the axes that broadcasting to x.shape added;  vjp: broadcast_to"""

    __slots__ = ("shape",)
    reads_values = False

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        lead = x.ndim - len(self.shape)
        axes = tuple(range(lead)) + tuple(
            lead + i for i, n in enumerate(self.shape) if n == 1 and x.shape[lead + i] != 1)
        y = np.sum(x, axis=axes, keepdims=True) if axes else x
        return y.reshape(self.shape)

    def vjp(self, g):
        return g.broadcast_to(self.inputs[0].shape)


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
        return x[_fill_index(self.index, arrays) if arrays else self.index]

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
        out = np.zeros(self.shape, dtype=g.dtype)
        if not arrays:
            out[self.index] = g  # basic indexing: every position at most once
        else:
            np.add.at(out, _fill_index(self.index, arrays), g)  # repeated indices accumulate
        return out

    def vjp(self, g):
        _, *arrays = self.inputs
        return (GetItem(self.index)(g, *arrays),) + (None,) * len(arrays)


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
        return tuple(np.split(x, np.cumsum(self.sizes)[:-1], axis=self.axis))

    def vjp(self, gs):
        pieces = []
        for g, n in zip(gs, self.sizes):
            if g is None:
                shape = self.shape[:self.axis] + (n,) + self.shape[self.axis + 1:]
                g = make(np.zeros(shape, dtype=self.inputs[0].dtype))
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


def _is_basic(index):
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, np.integer, slice)) or i is None or i is Ellipsis
               for i in items)


def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(int(n) for n in shape)


def reshape(x, *shape):
    """View x with a new shape (one entry may be -1)."""
    x = to_tensor(x)
    shape = _shape_arg(shape)
    try:
        return _share_version(Reshape(shape)(x), x)
    except ValueError:
        raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} ({x.size} "
                         f"elements) into {shape}") from None


def flatten(x, start_dim=0, end_dim=-1):
    """Merge axes start_dim..end_dim into one (PyTorch's flatten)."""
    x = to_tensor(x)
    if x.ndim == 0:
        return reshape(x, 1)
    s, e = start_dim % x.ndim, end_dim % x.ndim
    if s > e:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for "
                         f"shape {x.shape}")
    return reshape(x, x.shape[:s] + (-1,) + x.shape[e + 1:])


def permute(x, *axes):
    """Reorder the axes of x (NumPy's transpose with explicit axes)."""
    x = to_tensor(x)
    axes = _shape_arg(axes)
    if sorted(a % max(x.ndim, 1) for a in axes) != list(range(x.ndim)):
        raise ValueError(f"permute: {axes} is not a permutation of the {x.ndim} axes of a "
                         f"tensor of shape {x.shape}")
    return _share_version(Permute(tuple(a % x.ndim for a in axes))(x), x)


def swapaxes(x, axis0, axis1):
    """Exchange two axes (PyTorch's transpose(dim0, dim1))."""
    x = to_tensor(x)
    if x._data.ndim == 2 and axis0 in (0, -2) and axis1 in (1, -1):  # a matrix's .mT
        return _share_version(Permute((1, 0))(x), x)
    axes = list(range(x.ndim))
    try:
        axes[axis0], axes[axis1] = axes[axis1], axes[axis0]
    except IndexError:
        raise ValueError(f"transpose: axes ({axis0}, {axis1}) are out of range for shape "
                         f"{x.shape}") from None
    return permute(x, axes)


def squeeze(x, axis=None):
    """Remove axes of length 1 (all of them, or the given ones)."""
    x = to_tensor(x)
    if axis is None:
        return reshape(x, tuple(n for n in x.shape if n != 1))
    axes = {a % x.ndim for a in ((axis,) if isinstance(axis, int) else axis)}
    return reshape(x, tuple(n for i, n in enumerate(x.shape) if i not in axes or n != 1))


def unsqueeze(x, axis):
    """Insert an axis of length 1 at position `axis`."""
    x = to_tensor(x)
    axis = axis % (x.ndim + 1)
    return reshape(x, x.shape[:axis] + (1,) + x.shape[axis:])


def broadcast_to(x, shape):
    """Repeat x along new or length-1 axes to `shape` (a read-only view)."""
    x = to_tensor(x)
    shape = _shape_arg((shape,))
    try:
        return _share_version(BroadcastTo(shape)(x), x)
    except ValueError:
        raise ValueError(f"broadcast_to: cannot broadcast shape {x.shape} to {shape}") from None


def sum_to(x, shape):
    """Sum x down to `shape` (the adjoint of broadcast_to); raises ValueError if impossible."""
    shape = tuple(shape)
    if x.shape == shape:
        return x
    if len(shape) > x.ndim or np.broadcast_shapes(shape, x.shape) != x.shape:
        raise ValueError(f"sum_to: cannot sum shape {x.shape} to {shape}")
    return SumTo(shape)(x)


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
            arrays.append(i if isinstance(i, Tensor) else make(i))
            i = _ARRAY
        parts.append(i)
    return (tuple(parts) if isinstance(index, tuple) else parts[0]), arrays


def getitem(x, index):
    """x[index] with ints, slices, None, Ellipsis, integer arrays and boolean masks."""
    template, arrays = _tensor_index(index)
    try:
        y = GetItem(template)(x, *arrays)
    except IndexError as e:
        raise IndexError(f"getitem: index {_convert_index(index)!r} is invalid for a tensor of "
                         f"shape {x.shape}: {e}") from None
    return _share_version(y, x) if not arrays and _is_basic(template) else y


def concatenate(tensors, axis=0):
    """Join tensors along an existing axis."""
    tensors = [to_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("concatenate: needs at least one tensor")
    try:
        return Concatenate(axis)(*tensors)
    except (ValueError, np.exceptions.AxisError):
        shapes = ", ".join(str(t.shape) for t in tensors)
        raise ValueError(f"concatenate: shapes {shapes} do not match except along axis "
                         f"{axis}") from None


def stack(tensors, axis=0):
    """Join tensors of equal shape along a new axis."""
    tensors = [to_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("stack: needs at least one tensor")
    shapes = {t.shape for t in tensors}
    if len(shapes) != 1:
        raise ValueError(f"stack: all tensors must have the same shape; got {sorted(shapes)}")
    return concatenate([unsqueeze(t, axis) for t in tensors], axis)


def split(x, split_size_or_sections, axis=0):
    """Split into pieces of `split_size` (last may be smaller) or of the given sizes (PyTorch)."""
    x = to_tensor(x)
    axis = axis % x.ndim
    n = x.shape[axis]
    if isinstance(split_size_or_sections, (int, np.integer)):
        step = int(split_size_or_sections)
        if step <= 0:
            raise ValueError(f"split: split_size must be positive; got {step}")
        sizes = [step] * (n // step) + ([n % step] if n % step else [])
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != n:
            raise ValueError(f"split: sizes {sizes} add up to {sum(sizes)} but axis {axis} has "
                             f"length {n}")
    return Split(sizes, axis)(x)


def pad(x, pad_width, value=0.0):
    """Pad with a constant; pad_width as NumPy's: ((before, after), ...) per axis or one pair."""
    x = to_tensor(x)
    width = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (x.ndim, 2))
    if (width < 0).any():
        raise ValueError(f"pad: pad widths must be non-negative; got {pad_width}")
    return Pad(tuple((int(a), int(b)) for a, b in width), value)(x)


def astype(x, dtype):
    """Convert to `dtype` (differentiable between floating dtypes)."""
    dtype = np.dtype(dtype)
    if x.dtype == dtype:
        return x
    if x.requires_grad and dtype.kind not in "fc":
        raise TypeError(f"astype: cannot convert a tensor that requires grad to non-floating "
                        f"dtype {dtype}; .detach() it first")
    return Astype(dtype)(x)


def detach(x):
    """A tensor sharing x's data, cut off from the graph."""
    return _share_version(make(x._data), x)


def clone(x):
    """A copy of x that stays in the graph."""
    return Clone()(x)
