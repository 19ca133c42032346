"""Pooling: max_pool1d/2d, avg_pool1d/2d, adaptive_avg_pool1d/2d, adaptive_max_pool1d/2d, with
PyTorch's arguments, output sizes (ceil_mode), divisors (count_include_pad) and indices.

Max pooling is two steps: the argmax of each window (a strided view of the -inf-padded input,
no gradient), then a gather of x at those indices, whose adjoint is a scatter-add (windows may
overlap) and whose second derivative is the gather again. Average pooling is a window sum (its
adjoint spreads each gradient over its window) times a constant map of 1/divisor. Adaptive
average pooling is separable: y = P_h x P_w^T with constant averaging matrices (two matmuls).
1-D pools are the 2-D ones on a height-1 image.
"""

import math

import numpy as np

from chainrule.core.backend import to_like, xp_of
from chainrule.core.function import Function, Nondifferentiable
from chainrule.ops.arithmetic import const
from chainrule.ops.conv import _as_float_tensor, _ints, _padded, _windows, batched, from_2d, to_2d
from chainrule.ops.registry import op
from chainrule.ops.shape import pad


class TileMax(Function):
    """y[n,c,h,w] = max_{a,b} x[n, c, h k0 + a, w k1 + b] over non-overlapping k0 x k1 tiles
    (stride = kernel, no padding): k0 k1 - 1 elementwise maxima of strided views;
    vjp: g copied to each tile's first maximum (TileScatter), 0 elsewhere"""

    __slots__ = ("k",)

    def __init__(self, k):
        self.k = k

    def forward(self, x):
        lanes = _tiles(x, self.k)
        y = lanes[0].copy(order="K")  # (in x's memory order)
        for lane in lanes[1:]:
            np.maximum(y, lane, out=y)  # (NaN propagates, as torch's max pool)
        return y

    def vjp(self, g):
        x = self.inputs[0]
        mask = TileArgmaxMask(self.k)(x, self.output)
        gx = TileScatter(self.k)(g, mask)
        rest = (x.shape[2] - gx.shape[2], x.shape[3] - gx.shape[3])  # rows/columns no tile has
        return gx if rest == (0, 0) else pad(gx, ((0, 0), (0, 0), (0, rest[0]), (0, rest[1])))


def _empty_in_order_of(ref, shape, lead=(), dtype=None):
    """An empty array of lead + shape whose memory orders the axes as ref's memory does (so
    that elementwise work between them runs along matching strides)."""
    order = sorted(range(ref.ndim), key=lambda a: -ref.strides[a])
    mem = xp_of(ref).empty(tuple(lead) + tuple(shape[a] for a in order),
                           dtype=ref.dtype if dtype is None else dtype)
    back = np.argsort(order)
    return mem.transpose(tuple(range(len(lead))) + tuple(len(lead) + b for b in back))


def _tiles(x, k):
    """The k0 k1 strided views x[:, :, a::k0, b::k1] (cropped to whole tiles), row-major."""
    h, w = x.shape[2] // k[0], x.shape[3] // k[1]
    return [x[:, :, a:h * k[0]:k[0], b:w * k[1]:k[1]] for a in range(k[0]) for b in range(k[1])]


class TileArgmaxMask(Nondifferentiable):
    """m[l, n, c, h, w] = 1 where tile position l (row-major) is the first in its tile where x
    equals the tile's maximum y (or is NaN), 0 elsewhere: torch's choice among ties"""

    __slots__ = ("k",)

    def __init__(self, k):
        self.k = k

    def forward(self, x, y):
        lanes = _tiles(x, self.k)
        m = _empty_in_order_of(y, y.shape, (len(lanes),))
        nan = np.isnan(y).any()
        remaining = _empty_in_order_of(y, y.shape, dtype=bool)  # tiles with no maximum yet
        remaining[...] = True
        hit = np.empty_like(remaining)
        for lane, out in zip(lanes[:-1], m):
            np.equal(lane, y, out=hit)
            if nan:
                hit |= np.isnan(lane)
            hit &= remaining
            remaining ^= hit  # (hit is within remaining)
            out[...] = hit
        m[-1] = remaining  # the last position, where no earlier one was the maximum
        return m


class TileScatter(Function):
    """y[n, c, h k0 + a, w k1 + b] = g[n,c,h,w] m[(a, b), n, c, h, w] (each tile's gradient at
    its mask);  vjp: TileGather(gy, m), the sum over each tile of gy m"""

    __slots__ = ("k",)
    reads_values = False

    def __init__(self, k):
        self.k = k

    def forward(self, g, m):
        n, c, h, w = g.shape
        y = _empty_in_order_of(g, (n, c, h * self.k[0], w * self.k[1]))
        for lane, out in zip(m, _tiles(y, self.k)):
            np.multiply(g, lane, out=out)
        return y

    def vjp(self, gy):
        return TileGather(self.k)(gy, self.inputs[1]), None


class TileGather(Function):
    """y[n,c,h,w] = sum_{a,b} x[n, c, h k0 + a, w k1 + b] m[(a, b), n, c, h, w] (TileScatter's
    adjoint);  vjp: TileScatter(g, m)"""

    __slots__ = ("k",)
    reads_values = False

    def __init__(self, k):
        self.k = k

    def forward(self, x, m):
        lanes = _tiles(x, self.k)
        y = lanes[0] * m[0]
        for lane, mask in zip(lanes[1:], m[1:]):
            y += lane * mask
        return y

    def vjp(self, g):
        return TileScatter(self.k)(g, self.inputs[1]), None


class MaxPoolIndices(Nondifferentiable):
    """i[n,c,h,w] = the flat index (row * W + column, in the unpadded input) of the maximum of
    window (h, w): x_pad[n, c, h s + a d, w s + b d] over the kernel offsets (a, b)"""

    __slots__ = ("k", "stride", "pads", "dilation", "out")

    def __init__(self, k, stride, pads, dilation, out):
        self.k, self.stride, self.pads, self.dilation, self.out = k, stride, pads, dilation, out

    def forward(self, x):
        (pt, _), (pl, _) = self.pads
        xp = _padded(x, self.pads, -np.inf)
        win = _windows(xp, self.k, self.stride, self.dilation, self.out).transpose(0, 1, 4, 5, 2, 3)
        kh, kw = self.k
        a = win.reshape(win.shape[:4] + (kh * kw,)).argmax(-1)  # (NaN counts as the maximum)
        arange = xp_of(x).arange
        rows = arange(self.out[0]).reshape(-1, 1) * self.stride[0] - pt + \
            (a // kw) * self.dilation[0]
        cols = arange(self.out[1]) * self.stride[1] - pl + (a % kw) * self.dilation[1]
        return rows * x.shape[3] + cols


class AdaptiveMaxIndices(Nondifferentiable):
    """i[n,c,h,w] = the flat index of the maximum of x over rows floor(h H/Ho) ..
    ceil((h+1) H/Ho) - 1 and the columns alike (torch's adaptive windows)"""

    __slots__ = ("out",)

    def __init__(self, out):
        self.out = out

    def forward(self, x):
        (rows, kh), (cols, kw) = (_adaptive_windows(n, m) for n, m in zip(x.shape[2:], self.out))
        rows, cols = to_like(rows, x), to_like(cols, x)
        win = x[:, :, rows[:, :, None, None], cols[None, None]]  # (N, C, Ho, kh, Wo, kw)
        win = win.transpose(0, 1, 2, 4, 3, 5).reshape(x.shape[:2] + tuple(self.out) + (-1,))
        a = win.argmax(-1)
        h, w = xp_of(x).arange(self.out[0]).reshape(-1, 1), xp_of(x).arange(self.out[1])
        return rows[h, a // kw] * x.shape[3] + cols[w, a % kw]


def _adaptive_windows(n, m):
    """((m, k) indices of torch's adaptive windows over n positions, each padded to the widest k
    by repeating its last index; k)."""
    start = np.arange(m) * n // m
    end = -((-(np.arange(m) + 1) * n) // m)  # ceil((o + 1) n / m)
    k = int((end - start).max())
    idx = np.minimum(start[:, None] + np.arange(k), end[:, None] - 1)
    return idx, k


class PoolPick(Function):
    """y[n,c,p] = x[n, c, i[n,c,p]] (i: flat indices into each image);  vjp: scatter-add of g"""

    __slots__ = ("overlap",)
    reads_values = False

    def __init__(self, overlap):
        self.overlap = overlap

    def forward(self, x, index):
        n, c = x.shape[:2]
        flat = x.reshape(n, c, -1)
        return np.take_along_axis(flat, index.reshape(n, c, -1), 2).reshape(index.shape)

    def vjp(self, g):
        x, index = self.inputs
        return PoolScatter(x.shape, self.overlap)(g, index), None


class PoolScatter(Function):
    """y = zeros(shape) with y[n, c, i[n,c,p]] += g[n,c,p];  vjp: gy read at i (PoolPick)"""

    __slots__ = ("shape", "overlap")
    reads_values = False

    def __init__(self, shape, overlap):
        self.shape, self.overlap = tuple(shape), overlap

    def forward(self, g, index):
        n, c = self.shape[:2]
        size = math.prod(self.shape[2:])
        if not self.overlap:  # windows apart: every position at most once
            y = xp_of(g).zeros((n, c, size), dtype=g.dtype)
            np.put_along_axis(y, index.reshape(n, c, -1), g.reshape(n, c, -1), 2)
            return y.reshape(self.shape)
        offsets = (xp_of(index).arange(n * c) * size).reshape(n, c, *(1,) * (index.ndim - 2))
        y = np.bincount((index + offsets).ravel(), g.ravel(), n * c * size)
        return y.astype(g.dtype, copy=False).reshape(self.shape)

    def vjp(self, g):
        return PoolPick(self.overlap)(g, self.inputs[1]), None


class WindowSum(Function):
    """y[n,c,h,w] = sum_{a,b} x_pad[n, c, h s + a, w s + b] (zero padding);  vjp: each g spread
    over its window (WindowSpread)"""

    __slots__ = ("k", "stride", "pads", "out")
    reads_values = False

    def __init__(self, k, stride, pads, out):
        self.k, self.stride, self.pads, self.out = k, stride, pads, out

    def forward(self, x):
        xp = _padded(x, self.pads)
        (s0, s1), (h, w) = self.stride, self.out
        y = xp_of(x).zeros(x.shape[:2] + (h, w), dtype=x.dtype)
        for a in range(self.k[0]):
            for b in range(self.k[1]):
                y += xp[:, :, a:a + s0 * (h - 1) + 1:s0, b:b + s1 * (w - 1) + 1:s1]
        return y

    def vjp(self, g):
        return WindowSpread(self.k, self.stride, self.pads, self.inputs[0].shape[2:])(g)


class WindowSpread(Function):
    """y[n, c, h s + a - p, w s + b - p] += x[n,c,h,w] over the kernel offsets (a, b) (the
    adjoint of WindowSum);  vjp: WindowSum(g)"""

    __slots__ = ("k", "stride", "pads", "size")
    reads_values = False

    def __init__(self, k, stride, pads, size):
        self.k, self.stride, self.pads, self.size = k, stride, pads, tuple(size)

    def forward(self, x):
        (pt, pb), (pl, pr) = self.pads
        (s0, s1), (h, w) = self.stride, x.shape[2:]
        H, W = self.size
        buf = xp_of(x).zeros(x.shape[:2] + (H + pt + pb, W + pl + pr), dtype=x.dtype)
        for a in range(self.k[0]):
            for b in range(self.k[1]):
                buf[:, :, a:a + s0 * (h - 1) + 1:s0, b:b + s1 * (w - 1) + 1:s1] += x
        return buf[:, :, pt:pt + H, pl:pl + W]

    def vjp(self, g):
        return WindowSum(self.k, self.stride, self.pads, self.inputs[0].shape[2:])(g)


# ---- sizes and arguments, torch's rules ------------------------------------------------------


def _pool_size(op, n, k, s, p, d, ceil_mode):
    """torch's pooling output size along one axis (ceil_mode: the last window must start inside
    the input or its left padding)."""
    if p > k // 2:
        raise ValueError(f"{op}: padding {p} must be at most half the kernel size {k}")
    span = n + 2 * p - d * (k - 1) - 1
    if span < 0:
        raise ValueError(f"{op}: input size {n} (padded {n + 2 * p}) is smaller than the "
                         f"kernel {k} (dilated: {d * (k - 1) + 1})")
    out = (span + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


def _pool_args(op, nd, input, kernel_size, stride, padding, dilation, ceil_mode):
    """(x as (N, C, H, W), unbatched, k, s, pads, d, out): all 2-D (1-D ops get height 1)."""
    x = _as_float_tensor(op, input, "input")
    x, unbatched = batched(op, x, nd)
    k = _ints(op, "kernel_size", kernel_size, nd)
    s = k if stride is None or (isinstance(stride, (tuple, list)) and not stride) else \
        _ints(op, "stride", stride, nd)
    p = _ints(op, "padding", padding, nd, low=0)
    d = _ints(op, "dilation", dilation, nd)
    out = tuple(_pool_size(op, n, *a, ceil_mode) for n, *a in zip(x.shape[2:], k, s, p, d))
    # right/bottom padding reaching the last window (ceil_mode may need more than p)
    pads = tuple((pp, max(pp, (o - 1) * ss + dd * (kk - 1) + 1 - n - pp))
                 for n, o, kk, ss, pp, dd in zip(x.shape[2:], out, k, s, p, d))
    if nd == 1:
        x, k, s, d, out, pads = to_2d(x, 1), (1,) + k, (1,) + s, (1,) + d, (1,) + out, \
            ((0, 0),) + pads
    return x, unbatched, k, s, pads, d, out


def _max_pool(op, nd, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    x, unbatched, k, s, pads, d, out = _pool_args(op, nd, input, kernel_size, stride, padding,
                                                  dilation, ceil_mode)
    if not return_indices and k == s and d == (1, 1) and pads == ((0, 0), (0, 0)):
        return from_2d(TileMax(k)(x), nd, unbatched)  # the common case: tiles, no gather
    index = MaxPoolIndices(k, s, pads, d, out)(x)
    overlap = any(ss < dd * (kk - 1) + 1 for kk, ss, dd in zip(k, s, d))
    y = from_2d(PoolPick(overlap)(x, index), nd, unbatched)
    return (y, from_2d(index, nd, unbatched)) if return_indices else y


@op(namespace="nn.functional", classes=(PoolPick, PoolScatter, TileMax))
def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """y[n,c,l] = max_a x_pad[n, c, l s + a d] (-inf padding); the gradient goes to the argmax."""
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


@op(namespace="nn.functional", classes=(PoolPick, PoolScatter, TileMax))
def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """y[n,c,h,w] = max_{a,b} x_pad[n, c, h s + a d, w s + b d]; the gradient goes to the argmax
    (return_indices: also the flat indices h W + w into each input image, as torch)."""
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


def _avg_divisor(n, out, k, s, p, count_include_pad):
    """torch's divisor per output position along one axis: the window clipped to the padded
    input (count_include_pad) or to the input itself."""
    start = np.arange(out) * s - p
    end = np.minimum(start + k, n + p)
    if count_include_pad:
        return end - start
    return np.minimum(end, n) - np.maximum(start, 0)


def _avg_pool(op, nd, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override):
    x, unbatched, k, s, pads, _, out = _pool_args(op, nd, input, kernel_size, stride, padding, 1,
                                                  ceil_mode)
    sums = WindowSum(k, s, pads, out)(x)
    if divisor_override is not None:
        if not divisor_override:
            raise ValueError(f"{op}: divisor_override must be non-zero; got {divisor_override}")
        y = sums * (1.0 / divisor_override)
    else:
        div = [_avg_divisor(n, o, kk, ss, pp[0], count_include_pad)
               for n, o, kk, ss, pp in zip(x.shape[2:], out, k, s, pads)]
        y = sums * const((1.0 / np.outer(div[0], div[1])).astype(x.dtype), x)
    return from_2d(y, nd, unbatched)


@op(namespace="nn.functional", classes=(WindowSum, WindowSpread))
def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    """y[n,c,l] = sum_a x_pad[n, c, l s + a] / divisor (k, or the count inside the input)."""
    return _avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, None)


@op(namespace="nn.functional", classes=(WindowSum, WindowSpread))
def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """y[n,c,h,w] = sum_{a,b} x_pad[n, c, h s + a, w s + b] / divisor (kh kw, the count inside
    the input, or divisor_override)."""
    return _avg_pool("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override)


def _adaptive_args(op, nd, input, output_size):
    x = _as_float_tensor(op, input, "input")
    x, unbatched = batched(op, x, nd)
    size = (output_size,) * nd if isinstance(output_size, (int, np.integer)) or \
        output_size is None else tuple(output_size)
    if len(size) != nd:
        raise ValueError(f"{op}: output_size must be an int or a tuple of {nd}; got "
                         f"{output_size!r}")
    size = tuple(n if m is None else m for n, m in zip(x.shape[2:], size))
    if any(not isinstance(m, (int, np.integer)) or m < 1 for m in size):
        raise ValueError(f"{op}: output_size must hold positive ints; got {output_size!r}")
    if nd == 1:
        x, size = to_2d(x, 1), (1,) + size
    return x, unbatched, tuple(int(m) for m in size)


def _averaging(n, m, dtype):
    """(m, n) matrix of torch's adaptive windows: row o averages x[floor(o n/m):ceil((o+1)n/m)]."""
    idx, _ = _adaptive_windows(n, m)
    P = np.zeros((m, n), dtype=dtype)
    for o, row in enumerate(idx):
        P[o, row[0]:row[-1] + 1] = 1.0 / (row[-1] + 1 - row[0])
    return P


def _adaptive_avg(op, nd, input, output_size):
    x, unbatched, size = _adaptive_args(op, nd, input, output_size)
    H, W = x.shape[2:]
    y = x if size[1] == W else x @ const(_averaging(W, size[1], x.dtype).T, x)
    if size[0] != H:
        y = const(_averaging(H, size[0], x.dtype), x) @ y
    return from_2d(y, nd, unbatched)


@op(namespace="nn.functional")
def adaptive_avg_pool1d(input, output_size):
    """y[n,c,o] = mean of x[n, c, floor(o L/m) : ceil((o+1) L/m)] (m = output_size)."""
    return _adaptive_avg("adaptive_avg_pool1d", 1, input, output_size)


@op(namespace="nn.functional")
def adaptive_avg_pool2d(input, output_size):
    """y = P_h x P_w^T: the mean over torch's adaptive windows (separable, two matmuls)."""
    return _adaptive_avg("adaptive_avg_pool2d", 2, input, output_size)


def _adaptive_max(op, nd, input, output_size, return_indices):
    x, unbatched, size = _adaptive_args(op, nd, input, output_size)
    index = AdaptiveMaxIndices(size)(x)
    overlap = any(n % m for n, m in zip(x.shape[2:], size))
    y = from_2d(PoolPick(overlap)(x, index), nd, unbatched)
    return (y, from_2d(index, nd, unbatched)) if return_indices else y


@op(namespace="nn.functional", classes=(PoolPick, PoolScatter))
def adaptive_max_pool1d(input, output_size, return_indices=False):
    """y[n,c,o] = max of x[n, c, floor(o L/m):ceil((o+1) L/m)]; the gradient goes to the argmax."""
    return _adaptive_max("adaptive_max_pool1d", 1, input, output_size, return_indices)


@op(namespace="nn.functional", classes=(PoolPick, PoolScatter))
def adaptive_max_pool2d(input, output_size, return_indices=False):
    """y[n,c,h,w] = max over torch's adaptive window (h, w); the gradient goes to the argmax."""
    return _adaptive_max("adaptive_max_pool2d", 2, input, output_size, return_indices)
