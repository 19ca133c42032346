"""Rearrangements under torch's names, all written from reshape, permute, getitem, cat and
broadcast_to (so every one is differentiable to any order for free): t, movedim, narrow, chunk,
unbind, hstack, vstack, dstack, column_stack, flip, fliplr, flipud, roll, rot90, repeat, tile,
repeat_interleave, meshgrid, broadcast_tensors, atleast_1d/2d/3d, view_as, reshape_as,
contiguous, diff, cartesian_prod."""

import numpy as np

from chainrule.core.tensor import Tensor, from_array
from chainrule.ops.arithmetic import to_tensor
from chainrule.ops.registry import op
from chainrule.ops.shape import concatenate, split, stack


def _dim(op, dim, ndim):
    if not -ndim <= dim < max(ndim, 1):
        raise ValueError(f"{op}: dim {dim} is out of range for a tensor of {ndim} dims")
    return dim % max(ndim, 1)


@op(methods=("t",))
def t(input):
    """Transpose of a tensor of at most 2 dims (a 0-D or 1-D tensor is returned as is)."""
    x = to_tensor(input)
    if x.ndim > 2:
        raise ValueError(f"t: expects a tensor of at most 2 dims; got shape {x.shape}; use "
                         "transpose(dim0, dim1) or .mT")
    return x if x.ndim < 2 else x.permute(1, 0)


@op(methods=("movedim", "moveaxis"), also=("moveaxis",))
def movedim(input, source, destination):
    """x with dims `source` moved to positions `destination` (the others keep their order)."""
    x = to_tensor(input)
    src = [source] if isinstance(source, int) else list(source)
    dst = [destination] if isinstance(destination, int) else list(destination)
    if len(src) != len(dst):
        raise ValueError(f"movedim: source {source} and destination {destination} differ in "
                         "length")
    rest = [d for d in range(x.ndim) if d not in [_dim("movedim", s, x.ndim) for s in src]]
    perm = [None] * x.ndim
    for s, d in zip(src, dst):
        perm[_dim("movedim", d, x.ndim)] = _dim("movedim", s, x.ndim)
    it = iter(rest)
    perm = [p if p is not None else next(it) for p in perm]
    return x.permute(*perm)


@op(methods=("narrow",))
def narrow(input, dim, start, length):
    """x[..., start:start+length, ...] along `dim` (a view)."""
    x = to_tensor(input)
    d = _dim("narrow", dim, x.ndim)
    n = x.shape[d]
    start = int(start) + (n if int(start) < 0 else 0)
    if not 0 <= start <= n or length < 0 or start + length > n:
        raise ValueError(f"narrow: start {start} + length {length} exceeds dim {d} of length "
                         f"{n}")
    return x[(slice(None),) * d + (slice(start, start + length),)]


@op(methods=("chunk",), returns="tuple")
def chunk(input, chunks, dim=0):
    """Split into `chunks` pieces of ceil(n / chunks) along `dim` (the last may be smaller,
    and there may be fewer pieces, as torch)."""
    x = to_tensor(input)
    if chunks <= 0:
        raise ValueError(f"chunk: chunks must be positive; got {chunks}")
    d = _dim("chunk", dim, x.ndim)
    n = x.shape[d]
    return split(x, max(-(-n // chunks), 1), d)


@op(methods=("tensor_split",), returns="tuple")
def tensor_split(input, indices_or_sections, dim=0):
    """Split into `sections` nearly equal pieces (the first ones one longer), or at indices."""
    x = to_tensor(input)
    d = _dim("tensor_split", dim, x.ndim)
    n = x.shape[d]
    if isinstance(indices_or_sections, int):
        k = indices_or_sections
        sizes = [n // k + (1 if i < n % k else 0) for i in range(k)]
    else:
        edges = [0] + [min(max(int(i), 0), n) for i in indices_or_sections] + [n]
        sizes = [max(b - a, 0) for a, b in zip(edges, edges[1:])]
    out, at = [], 0
    for s in sizes:
        out.append(x[(slice(None),) * d + (slice(at, at + s),)])
        at += s
    return tuple(out)


@op(methods=("unbind",), returns="tuple")
def unbind(input, dim=0):
    """The slices along `dim`, with that dim removed."""
    x = to_tensor(input)
    d = _dim("unbind", dim, x.ndim)
    return tuple(x[(slice(None),) * d + (i,)] for i in range(x.shape[d]))


def _tensors(op, tensors):
    tensors = [to_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError(f"{op}: needs at least one tensor")
    return tensors


@op()
def atleast_1d(*tensors):
    """Each tensor with at least 1 dim (0-D becomes shape (1,))."""
    out = [t.reshape(1) if t.ndim == 0 else t for t in _tensors("atleast_1d", _flat(tensors))]
    return out[0] if len(out) == 1 else tuple(out)


@op()
def atleast_2d(*tensors):
    """Each tensor with at least 2 dims (new dims in front)."""
    out = [t.reshape((1,) * (2 - t.ndim) + t.shape) if t.ndim < 2 else t
           for t in _tensors("atleast_2d", _flat(tensors))]
    return out[0] if len(out) == 1 else tuple(out)


@op()
def atleast_3d(*tensors):
    """Each tensor with at least 3 dims (as torch: (n,) -> (1, n, 1), (n, m) -> (n, m, 1))."""
    def lift(t):
        if t.ndim == 0:
            return t.reshape(1, 1, 1)
        if t.ndim == 1:
            return t.reshape(1, -1, 1)
        return t.unsqueeze(-1) if t.ndim == 2 else t

    out = [lift(t) for t in _tensors("atleast_3d", _flat(tensors))]
    return out[0] if len(out) == 1 else tuple(out)


def _flat(tensors):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        return tensors[0]
    return tensors


@op()
def hstack(tensors):
    """Join along dim 1 (dim 0 for 1-D tensors)."""
    ts = atleast_1d(*_tensors("hstack", tensors))
    ts = [ts] if isinstance(ts, Tensor) else ts
    return concatenate(ts, 0 if ts[0].ndim == 1 else 1)


@op(also=("row_stack",))
def vstack(tensors):
    """Join along dim 0, 1-D tensors as rows."""
    ts = atleast_2d(*_tensors("vstack", tensors))
    return concatenate([ts] if isinstance(ts, Tensor) else ts, 0)


@op()
def dstack(tensors):
    """Join along dim 2 (after atleast_3d)."""
    ts = atleast_3d(*_tensors("dstack", tensors))
    return concatenate([ts] if isinstance(ts, Tensor) else ts, 2)


@op()
def column_stack(tensors):
    """Join as columns: 0-D and 1-D tensors become (n, 1) columns, then cat along dim 1."""
    ts = [t.reshape(-1, 1) if t.ndim < 2 else t for t in _tensors("column_stack", tensors)]
    return concatenate(ts, 1)


@op(methods=("flip",))
def flip(input, dims):
    """x reversed along each of `dims`."""
    x = to_tensor(input)
    dims = [dims] if isinstance(dims, int) else list(dims)
    index = [slice(None)] * x.ndim
    for d in dims:
        index[_dim("flip", d, x.ndim)] = slice(None, None, -1)
    return x[tuple(index)] if x.ndim else x


@op(methods=("fliplr",))
def fliplr(input):
    """x reversed along dim 1."""
    return flip(input, 1)


@op(methods=("flipud",))
def flipud(input):
    """x reversed along dim 0."""
    return flip(input, 0)


@op(methods=("roll",))
def roll(input, shifts, dims=None):
    """x shifted cyclically by `shifts` along `dims` (the flattened tensor when dims is None)."""
    x = to_tensor(input)
    if dims is None:
        return roll(x.reshape(-1), shifts, 0).reshape(x.shape)
    shifts = [shifts] if isinstance(shifts, int) else list(shifts)
    dims = [dims] if isinstance(dims, int) else list(dims)
    if len(shifts) != len(dims):
        raise ValueError(f"roll: shifts {shifts} and dims {dims} differ in length")
    for s, d in zip(shifts, dims):
        d = _dim("roll", d, x.ndim)
        n = x.shape[d]
        s = s % n if n else 0
        if s:
            lead = (slice(None),) * d
            x = concatenate([x[lead + (slice(n - s, None),)], x[lead + (slice(0, n - s),)]], d)
    return x


@op(methods=("rot90",))
def rot90(input, k=1, dims=(0, 1)):
    """x rotated by 90 degrees k times in the plane of `dims` (from the first toward the second)."""
    x = to_tensor(input)
    d0, d1 = (_dim("rot90", d, x.ndim) for d in dims)
    k %= 4
    if k == 1:
        return flip(x, d1).transpose(d0, d1)
    if k == 2:
        return flip(x, (d0, d1))
    if k == 3:
        return flip(x.transpose(d0, d1), d1)
    return x


@op(methods=("repeat",))
def repeat(input, *sizes):
    """x tiled `sizes` times along each dim (new leading dims when there are more sizes)."""
    x = to_tensor(input)
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    if len(sizes) < x.ndim:
        raise ValueError(f"repeat: needs at least {x.ndim} sizes for shape {x.shape}; got "
                         f"{sizes}")
    x = x.reshape((1,) * (len(sizes) - x.ndim) + x.shape)
    # broadcast a new axis before each dim, then merge: (r0, n0, r1, n1, ...) -> (r0 n0, ...)
    inter = x.reshape(tuple(v for n in x.shape for v in (1, n)))
    big = inter.broadcast_to(tuple(v for r, n in zip(sizes, x.shape) for v in (r, n)))
    return big.reshape(tuple(r * n for r, n in zip(sizes, x.shape)))


@op(methods=("tile",))
def tile(input, dims):
    """x repeated `dims` times (fewer dims than x: ones are put in front, as torch)."""
    x = to_tensor(input)
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    return repeat(x, (1,) * (x.ndim - len(dims)) + dims)


@op(methods=("repeat_interleave",))
def repeat_interleave(input, repeats, dim=None, *, output_size=None):
    """Each element repeated `repeats` times (an int, or one count per element) along `dim`
    (of the flattened tensor when dim is None)."""
    x = to_tensor(input)
    if dim is None:
        x, dim = x.reshape(-1), 0
    d = _dim("repeat_interleave", dim, x.ndim)
    counts = repeats._data if isinstance(repeats, Tensor) else np.asarray(repeats)
    index = np.repeat(np.arange(x.shape[d]), counts)
    return x[(slice(None),) * d + (from_array(index.astype(np.int64)),)]


@op()
def broadcast_tensors(*tensors):
    """The tensors broadcast to their common shape."""
    ts = _tensors("broadcast_tensors", _flat(tensors))
    shape = np.broadcast_shapes(*(t.shape for t in ts))
    return tuple(t.broadcast_to(shape) for t in ts)


@op()
def meshgrid(*tensors, indexing="ij"):
    """Coordinate grids of 1-D tensors ('ij' by default, as torch; 'xy' swaps the first two)."""
    ts = _tensors("meshgrid", _flat(tensors))
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy'; got {indexing!r}")
    if indexing == "xy" and len(ts) >= 2:
        ts[0], ts[1] = ts[1], ts[0]
    shape = tuple(t.shape[0] for t in ts)
    n = len(ts)
    grids = [t.reshape((1,) * i + (-1,) + (1,) * (n - i - 1)).broadcast_to(shape)
             for i, t in enumerate(ts)]
    if indexing == "xy" and n >= 2:
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


@op()
def cartesian_prod(*tensors):
    """Every combination of the 1-D tensors' elements, as rows (n1 n2 .., k)."""
    ts = _tensors("cartesian_prod", _flat(tensors))
    if len(ts) == 1:
        return ts[0]
    return stack([g.reshape(-1) for g in meshgrid(*ts)], 1)


@op(methods=("view_as",))
def view_as(input, other):
    """x reshaped to other's shape."""
    return to_tensor(input).reshape(other.shape)


@op(methods=("reshape_as",))
def reshape_as(input, other):
    """x reshaped to other's shape."""
    return to_tensor(input).reshape(other.shape)


@op(methods=("contiguous",), export=False)
def contiguous(input, memory_format=None):
    """x itself (chainrule's tensors are NumPy arrays; layout never changes results)."""
    return input


@op(methods=("is_contiguous",), export=False, differentiable=False)
def is_contiguous(input, memory_format=None):
    """True when x's array is C-contiguous."""
    return bool(input._data.flags.c_contiguous)


@op(methods=("diff",))
def diff(input, n=1, dim=-1, prepend=None, append=None):
    """n-th forward difference x[i+1] - x[i] along `dim`."""
    x = to_tensor(input)
    d = _dim("diff", dim, x.ndim)
    parts = [p for p in (prepend, x, append) if p is not None]
    x = concatenate([to_tensor(p) for p in parts], d) if len(parts) > 1 else x
    lead = (slice(None),) * d
    for _ in range(n):
        x = x[lead + (slice(1, None),)] - x[lead + (slice(None, -1),)]
    return x
