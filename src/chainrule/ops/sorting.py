"""Order statistics, as torch: sort, argsort, msort, topk, kthvalue, median, mode, cummax,
cummin, unique, searchsorted, bucketize, bincount, histc. Values come back with their
indices as torch's named tuples; the values' gradient flows to the picked elements (a gather)."""

import numpy as np

from chainrule.core.backend import to_host, to_like, xp_of
from chainrule.core.function import Nondifferentiable
from chainrule.ops import return_types
from chainrule.ops.arithmetic import const, to_tensor
from chainrule.ops.indexing import Gather
from chainrule.ops.registry import op

_NOT_DIFF = dict(differentiable=False)


class ArgSort(Nondifferentiable):
    """y = the int64 permutation that sorts x along axis (stable; descending keeps ties in
    their original order, as torch's stable sort)"""

    __slots__ = ("axis", "descending")

    def __init__(self, axis, descending):
        self.axis, self.descending = axis, descending

    def forward(self, x):
        if self.descending:  # sort -x stably; NaN first (torch treats NaN as the largest)
            key = np.where(np.isnan(x), -np.inf, -x) if x.dtype.kind == "f" else (
                ~x if x.dtype == bool else -x.astype(np.int64) if x.dtype.kind == "u" else -x)
            out = np.argsort(key, axis=self.axis, kind="stable")
            if x.dtype.kind == "f":  # NaNs sort to the front, among themselves in order
                nan = np.take_along_axis(np.isnan(x), out, self.axis)
                out = np.take_along_axis(out, np.argsort(~nan, axis=self.axis, kind="stable"),
                                         self.axis)
            return out.astype(np.int64)
        return np.argsort(x, axis=self.axis, kind="stable").astype(np.int64)


class CumExtreme(Nondifferentiable):
    """y = the int64 index of the running maximum (or minimum) along axis (the last on ties,
    as torch)"""

    __slots__ = ("axis", "largest")

    def __init__(self, axis, largest):
        self.axis, self.largest = axis, largest

    def forward(self, x):
        x = np.moveaxis(x, self.axis, -1)
        better = np.greater_equal if self.largest else np.less_equal
        idx = xp_of(x).zeros(x.shape, dtype=np.int64)
        best = x[..., 0].copy()
        for i in range(1, x.shape[-1]):  # a loop over the axis only; vectorised over the rest
            take = better(x[..., i], best) | np.isnan(x[..., i])
            best = np.where(take, x[..., i], best)
            idx[..., i] = np.where(take, i, idx[..., i - 1])
        return np.moveaxis(idx, -1, self.axis)


class Mode(Nondifferentiable):
    """y = the int64 index (along axis) of the most frequent value (the smallest on ties, as
    torch); its last occurrence"""

    __slots__ = ("axis",)

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        if type(x) is not np.ndarray:  # np.unique per row: on the host, the result copied back
            return to_like(self.forward(to_host(x)), x)
        x = np.moveaxis(x, self.axis, -1)
        flat = x.reshape(-1, x.shape[-1])
        out = np.empty(flat.shape[0], dtype=np.int64)
        for r, v in enumerate(flat):  # one np.unique per row
            values, counts = np.unique(v, return_counts=True)
            best = values[np.argmax(counts)]
            out[r] = np.flatnonzero(v == best)[-1]
        return out.reshape(x.shape[:-1])


class Unique(Nondifferentiable):
    """y = the sorted distinct values of x (flattened), or along axis"""

    __slots__ = ("axis", "part")

    def __init__(self, axis, part):
        self.axis, self.part = axis, part

    def forward(self, x):
        out = np.unique(x, return_inverse=True, return_counts=True, axis=self.axis)
        y = out[self.part]
        if self.part == 1:
            y = y.reshape(x.shape if self.axis is None else x.shape[self.axis])
        return y.astype(np.int64) if self.part else y


class Bucket(Nondifferentiable):
    """y = np.searchsorted(sorted_sequence, values, side) (int64), row by row for N-D"""

    __slots__ = ("side",)

    def __init__(self, side):
        self.side = side

    def forward(self, seq, values):
        if seq.ndim <= 1:
            return np.searchsorted(seq, values, side=self.side).astype(np.int64)
        flat_s = seq.reshape(-1, seq.shape[-1])
        flat_v = values.reshape(-1, values.shape[-1])
        out = [np.searchsorted(s, v, side=self.side) for s, v in zip(flat_s, flat_v)]
        return np.asarray(out, dtype=np.int64).reshape(values.shape)


class Count(Nondifferentiable):
    """y = np.bincount(x, weights, minlength), or torch.histc's equal-width histogram"""

    __slots__ = ("minlength", "bins", "lo", "hi")

    def __init__(self, minlength=0, bins=None, lo=0.0, hi=0.0):
        self.minlength, self.bins, self.lo, self.hi = minlength, bins, lo, hi

    def forward(self, x, *weights):
        if self.bins is None:
            y = np.bincount(x, weights[0] if weights else None, self.minlength)
            return y if weights else y.astype(np.int64)
        lo, hi = self.lo, self.hi
        if lo == hi:  # torch: the data's own range
            lo, hi = (float(x.min()), float(x.max())) if x.size else (0.0, 0.0)
        if lo == hi:
            lo, hi = lo - 1, hi + 1
        return np.histogram(x, self.bins, (lo, hi))[0].astype(x.dtype)


def _axis(op, dim, x):
    if x.ndim == 0:
        return None
    if not -x.ndim <= dim < x.ndim:
        raise ValueError(f"{op}: dim {dim} is out of range for a tensor of {x.ndim} dims")
    return dim % x.ndim


def _pick(x, idx, axis):
    return x if axis is None else Gather(axis)(x, idx)


@op(methods=("sort",), returns="sort", classes=(ArgSort, Gather))
def sort(input, dim=-1, descending=False, stable=False):
    """(values, indices) of x sorted along `dim` (ascending unless descending=True)."""
    x = to_tensor(input)
    axis = _axis("sort", dim, x)
    if axis is None:
        return return_types.sort(x, const(np.zeros((), dtype=np.int64), x))
    idx = ArgSort(axis, descending)(x)
    return return_types.sort(_pick(x, idx, axis), idx)


@op(methods=("argsort",), classes=(ArgSort,), **_NOT_DIFF)
def argsort(input, dim=-1, descending=False, stable=False):
    """The int64 indices that sort x along `dim`."""
    x = to_tensor(input)
    axis = _axis("argsort", dim, x)
    return const(np.zeros((), np.int64), x) if axis is None else ArgSort(axis, descending)(x)


@op(methods=("msort",))
def msort(input):
    """x sorted along dim 0."""
    return sort(input, 0).values


@op(methods=("topk",), returns="topk", classes=(ArgSort, Gather))
def topk(input, k, dim=-1, largest=True, sorted=True):
    """(values, indices) of the k largest (or smallest) elements along `dim`, sorted."""
    x = to_tensor(input)
    axis = _axis("topk", dim, x)
    n = 1 if axis is None else x.shape[axis]
    if not 0 <= k <= n:
        raise ValueError(f"topk: k={k} is out of range for dim {dim} of length {n} (shape "
                         f"{x.shape})")
    if axis is None:
        return return_types.topk(x, const(np.zeros((), np.int64), x))
    idx = ArgSort(axis, largest)(x)
    idx = idx[(slice(None),) * axis + (slice(0, k),)]
    return return_types.topk(_pick(x, idx, axis), idx)


@op(methods=("kthvalue",), returns="kthvalue", classes=(ArgSort, Gather))
def kthvalue(input, k, dim=-1, keepdim=False):
    """(values, indices) of the k-th smallest element (1-based) along `dim`."""
    x = to_tensor(input)
    axis = _axis("kthvalue", dim, x)
    n = 1 if axis is None else x.shape[axis]
    if not 1 <= k <= n:
        raise ValueError(f"kthvalue: k={k} is out of range for dim {dim} of length {n}")
    if axis is None:
        return return_types.kthvalue(x, const(np.zeros((), np.int64), x))
    idx = ArgSort(axis, False)(x)[(slice(None),) * axis + (slice(k - 1, k),)]
    values = _pick(x, idx, axis)
    if not keepdim:
        values, idx = values.squeeze(axis), idx.squeeze(axis)
    return return_types.kthvalue(values, idx)


@op(methods=("median",), returns="median", classes=(ArgSort, Gather))
def median(input, dim=None, keepdim=False):
    """The lower median (torch's: the ((n - 1) // 2)-th smallest); with `dim`, (values,
    indices) along it."""
    x = to_tensor(input)
    if dim is None:
        if x.size == 0:
            raise ValueError("median: median of an empty tensor")
        flat = x.reshape(-1)
        return kthvalue(flat, (flat.shape[0] + 1) // 2).values
    axis = _axis("median", dim, x)
    n = 1 if axis is None else x.shape[axis]
    out = kthvalue(x, (n + 1) // 2, dim, keepdim)
    return return_types.median(*out)


@op(methods=("nanmedian",), returns="median")
def nanmedian(input, dim=None, keepdim=False):
    """median ignoring NaNs (only the NaN-free case is supported: it equals median)."""
    x = to_tensor(input)
    if np.isnan(x._data).any():
        raise ValueError("nanmedian: tensors containing NaN are not supported; use median on "
                         "the NaN-free part")
    return median(x, dim, keepdim)


@op(methods=("mode",), returns="mode", classes=(Mode, Gather))
def mode(input, dim=-1, keepdim=False):
    """(values, indices) of the most frequent value along `dim` (the smallest on ties)."""
    x = to_tensor(input)
    axis = _axis("mode", dim, x)
    if axis is None:
        return return_types.mode(x, const(np.zeros((), np.int64), x))
    idx = Mode(axis)(x)
    idx = idx.reshape(tuple(1 if d == axis else n for d, n in enumerate(x.shape)))
    values = _pick(x, idx, axis)
    if not keepdim:
        values, idx = values.squeeze(axis), idx.squeeze(axis)
    return return_types.mode(values, idx)


def _cum(name, largest, input, dim):
    x = to_tensor(input)
    axis = _axis(name, dim, x)
    if axis is None:
        return getattr(return_types, name)(x, const(np.zeros((), np.int64), x))
    idx = CumExtreme(axis, largest)(x)
    return getattr(return_types, name)(_pick(x, idx, axis), idx)


@op(methods=("cummax",), returns="cummax", classes=(CumExtreme, Gather))
def cummax(input, dim):
    """(values, indices) of the running maximum along `dim`."""
    return _cum("cummax", True, input, dim)


@op(methods=("cummin",), returns="cummin", classes=(CumExtreme, Gather))
def cummin(input, dim):
    """(values, indices) of the running minimum along `dim`."""
    return _cum("cummin", False, input, dim)


@op(methods=("unique",), returns="tuple", classes=(Unique,), **_NOT_DIFF)
def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """The sorted distinct values; with return_inverse/return_counts, a tuple as torch."""
    x = to_tensor(input)
    axis = None if dim is None else _axis("unique", dim, x)
    out = [Unique(axis, 0)(x)]
    if return_inverse:
        out.append(Unique(axis, 1)(x))
    if return_counts:
        out.append(Unique(axis, 2)(x))
    return out[0] if len(out) == 1 else tuple(out)


@op(classes=(Bucket,), **_NOT_DIFF)
def searchsorted(sorted_sequence, input, *, right=False, side=None):
    """int64 indices where `input`'s values would go in the sorted last dim of sorted_sequence."""
    seq, v = to_tensor(sorted_sequence), to_tensor(input)
    if seq.ndim > 1 and seq.shape[:-1] != v.shape[:-1]:
        raise ValueError(f"searchsorted: leading dims of sorted_sequence {seq.shape} and input "
                         f"{v.shape} must match")
    return Bucket(side or ("right" if right else "left"))(seq, v)


@op(classes=(Bucket,), **_NOT_DIFF)
def bucketize(input, boundaries, *, right=False):
    """int64 index of the bucket of each value: boundaries[i-1] < x <= boundaries[i] (right=
    False), as torch (note: the opposite of searchsorted's `right`)."""
    b = to_tensor(boundaries)
    if b.ndim != 1:
        raise ValueError(f"bucketize: boundaries must be 1-D; got shape {b.shape}")
    return Bucket("right" if right else "left")(b, to_tensor(input))


@op(methods=("bincount",), classes=(Count,), **_NOT_DIFF)
def bincount(input, weights=None, minlength=0):
    """Count of each non-negative integer value (or the sum of its weights)."""
    x = to_tensor(input)
    if x.ndim != 1 or x.dtype.kind not in "iu":
        raise TypeError(f"bincount: input must be a 1-D integer tensor; got shape {x.shape}, "
                        f"dtype {x.dtype}")
    if x.size and x._data.min() < 0:
        raise ValueError("bincount: input values must be non-negative")
    args = (x,) if weights is None else (x, to_tensor(weights))
    return Count(minlength)(*args)


@op(methods=("histc",), classes=(Count,), **_NOT_DIFF)
def histc(input, bins=100, min=0, max=0):
    """Histogram of `bins` equal bins over [min, max] (the data's range when min == max)."""
    x = to_tensor(input)
    return Count(bins=int(bins), lo=float(min), hi=float(max))(x.reshape(-1))

