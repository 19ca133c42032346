"""Convolution as one matrix multiply: conv1d/2d, conv_transpose1d/2d, unfold/fold (im2col and
col2im), with PyTorch's arguments, weight layouts and output sizes.

A convolution's columns are a strided view of its padded input, copied once: Im2col gives one
(C kh kw, Wo N) matrix per output row (the batch innermost), so that the convolution is a
batched GEMM W (O, C kh kw) @ cols, viewed as (N, O, Ho, Wo) without a copy; Col2im adds
columns back into an image with one add per kernel offset over runs of Wo N values (never a
loop over pixels or the batch). Unfold and Fold
are the same pair in torch's (N, C kh kw, L) layout, for F.unfold and F.fold. The two pairs are
each other's adjoints, and the convolutions are compositions of them with a matmul, so every
derivative of every order is again im2col, col2im and matmul:

    conv2d(x, W)            y = W im2col(x)         gx = col2im(W^T g),  gW = g im2col(x)^T
    conv_transpose2d(x, W)  y = col2im(W^T x)       gx = W im2col(g),    gW = x im2col(g)^T

1-D ops are the 2-D ones on a height-1 image.
"""

import numpy as np
from numpy.lib.stride_tricks import as_strided as _np_as_strided

from chainrule.core.backend import xp_of
from chainrule.core.function import Function
from chainrule.ops.arithmetic import to_tensor
from chainrule.ops.linalg import MatMul
from chainrule.ops.registry import op


def as_strided(a, shape, strides, writeable=False):
    """A strided view of a (NumPy's, or the device namespace's for a device array)."""
    if type(a) is np.ndarray:
        return _np_as_strided(a, shape, strides, writeable=writeable)
    return xp_of(a).lib.stride_tricks.as_strided(a, shape, strides)


def _windows(xp, k, s, d, out, writeable=False):
    """The (N, C, kh, kw, Ho, Wo) view xp[n, c, h s0 + i d0, w s1 + j d1] of a padded input
    (the image axes last, so an im2col copy runs along contiguous rows)."""
    sn, sc, sh, sw = xp.strides
    return as_strided(xp, xp.shape[:2] + tuple(k) + tuple(out),
                      (sn, sc, sh * d[0], sw * d[1], sh * s[0], sw * s[1]), writeable=writeable)


def _padded(x, pads, value=0):
    """x (N, C, H, W) with pads ((top, bottom), (left, right)) of value around its image axes."""
    (pt, pb), (pl, pr) = pads
    if not (pt or pb or pl or pr):
        return x
    n, c, h, w = x.shape
    xp = xp_of(x).full((n, c, h + pt + pb, w + pl + pr), value, dtype=x.dtype)
    xp[:, :, pt:pt + h, pl:pl + w] = x
    return xp


def _out_size(size, pads, k, s, d):
    return tuple((size[a] + pads[a][0] + pads[a][1] - d[a] * (k[a] - 1) - 1) // s[a] + 1
                 for a in range(2))


def _im2col(x, k, s, pads, d, out, groups=1):
    """Columns (N, groups, C/groups kh kw, Ho Wo): torch's unfold, one strided copy."""
    n, c = x.shape[:2]
    cols = _windows(_padded(x, pads), k, s, d, out)
    return cols.reshape(n, groups, c // groups * k[0] * k[1], out[0] * out[1])


def _col2im(cols, shape, pads, k, s, d, out):
    """Sum columns cols (N, C, kh, kw, Ho, Wo) back into an image (N, C, H, W): the adjoint of
    im2col, one strided add per kernel offset."""
    (pt, pb), (pl, pr) = pads
    n, c, h, w = shape
    buf = xp_of(cols).zeros((n, c, h + pt + pb, w + pl + pr), dtype=cols.dtype)
    win = _windows(buf, k, s, d, out, writeable=True)
    for i in range(k[0]):
        for j in range(k[1]):
            win[:, :, i, j] += cols[:, :, i, j]  # positions of one offset are distinct
    return buf[:, :, pt:pt + h, pl:pl + w]


def _hwn_padded(x, pads):
    """x (N, C, H, W) as a batch-innermost (C, H', W', N) array with pads around H and W: a view
    when x's memory is already batch-innermost and nothing is padded, else one copy."""
    (pt, pb), (pl, pr) = pads
    xc = x.transpose(1, 2, 3, 0)
    if not (pt or pb or pl or pr):
        return xc if xc.flags.c_contiguous else xp_of(xc).ascontiguousarray(xc)
    c, h, w, n = xc.shape
    xp = xp_of(x).zeros((c, h + pt + pb, w + pl + pr, n), dtype=x.dtype)
    xp[:, pt:pt + h, pl:pl + w] = xc
    return xp


def _hwn_windows(xp, k, s, d, out, writeable=False):
    """The (C, kh, kw, Ho, Wo, N) view xp[c, h s0 + i d0, w s1 + j d1, n] of a (C, H, W, N)
    array: for stride 1 each (c, i, j) is one contiguous run of Wo N values per row."""
    sc, sh, sw, sn = xp.strides
    return as_strided(xp, xp.shape[:1] + tuple(k) + tuple(out) + xp.shape[3:],
                      (sc, sh * d[0], sw * d[1], sh * s[0], sw * s[1], sn), writeable=writeable)


class Im2col(Function):
    """cols[h, (c, i, j), (w, n)] = x_pad[n, c, h s + i d, w s + j d]: a convolution's columns,
    one (C kh kw, Wo N) matrix per output row h (batch innermost);  vjp: col2im(g)"""

    __slots__ = ("k", "stride", "pads", "dilation", "out")
    reads_values = False

    def __init__(self, k, stride, pads, dilation, out):
        self.k, self.stride, self.pads, self.dilation, self.out = k, stride, pads, dilation, out

    def forward(self, x):
        win = _hwn_windows(_hwn_padded(x, self.pads), self.k, self.stride, self.dilation,
                           self.out)  # (C, kh, kw, Ho, Wo, N)
        cols = win.transpose(3, 0, 1, 2, 4, 5)  # (Ho, C, kh, kw, Wo, N): one copy below
        return cols.reshape(self.out[0], x.shape[1] * self.k[0] * self.k[1], -1)

    def vjp(self, g):
        return Col2im(self.inputs[0].shape[2:], self.k, self.stride, self.pads, self.dilation,
                      self.out)(g)


class Col2im(Function):
    """y[n, c, h s + i d - p, w s + j d - p] += cols[h, (c, i, j), (w, n)] (Im2col's adjoint):
    one add per kernel offset over runs of Wo N values; y is (N, C, H, W) over batch-innermost
    memory;  vjp: im2col(g)"""

    __slots__ = ("size", "k", "stride", "pads", "dilation", "out")
    reads_values = False

    def __init__(self, size, k, stride, pads, dilation, out):
        self.size, self.k, self.stride, self.pads, self.dilation = \
            tuple(size), k, stride, pads, dilation
        self.out = tuple(out)

    def forward(self, cols):
        (pt, pb), (pl, pr) = self.pads
        (kh, kw), (ho, wo), (h, w) = self.k, self.out, self.size
        c, n = cols.shape[1] // (kh * kw), cols.shape[2] // wo
        buf = xp_of(cols).zeros((c, h + pt + pb, w + pl + pr, n), dtype=cols.dtype)
        win = _hwn_windows(buf, self.k, self.stride, self.dilation, self.out, writeable=True)
        g = cols.reshape(ho, c, kh, kw, wo, n).transpose(1, 2, 3, 0, 4, 5)  # (C, kh, kw, Ho, ...)
        for i in range(kh):
            for j in range(kw):
                win[:, i, j] += g[:, i, j]  # the positions of one offset are distinct
        return buf[:, pt:pt + h, pl:pl + w].transpose(3, 0, 1, 2)

    def vjp(self, g):
        return Im2col(self.k, self.stride, self.pads, self.dilation, self.out)(g)


class Unfold(Function):
    """im2col: y[n, (c, i, j), (h, w)] = x_pad[n, c, h s + i d, w s + j d];  vjp: fold(g)"""

    __slots__ = ("k", "stride", "pads", "dilation", "out")
    reads_values = False

    def __init__(self, k, stride, pads, dilation, out):
        self.k, self.stride, self.pads, self.dilation, self.out = k, stride, pads, dilation, out

    def forward(self, x):
        return _im2col(x, self.k, self.stride, self.pads, self.dilation, self.out)[:, 0]

    def vjp(self, g):
        return Fold(self.inputs[0].shape[2:], self.k, self.stride, self.pads, self.dilation,
                    self.out)(g)


class Fold(Function):
    """col2im: y[n, c, h s + i d - p, w s + j d - p] += x[n, (c, i, j), (h, w)];  vjp: unfold(g)"""

    __slots__ = ("size", "k", "stride", "pads", "dilation", "out")
    reads_values = False

    def __init__(self, size, k, stride, pads, dilation, out):
        self.size, self.k, self.stride, self.pads, self.dilation = \
            tuple(size), k, stride, pads, dilation
        self.out = tuple(out)

    def forward(self, x):
        out = self.out
        n, c = x.shape[0], x.shape[1] // (self.k[0] * self.k[1])
        cols = x.reshape(n, c, self.k[0], self.k[1], out[0], out[1])
        return _col2im(cols, (n, c) + self.size, self.pads, self.k, self.stride, self.dilation,
                       out)

    def vjp(self, g):
        return Unfold(self.k, self.stride, self.pads, self.dilation, self.out)(g)


# ---- argument handling: torch's spellings, checked once with the op's name -----------------


def _ints(op, name, v, n, low=1):
    """v (an int, or a sequence of n ints) as a tuple of n ints >= low."""
    def is_int(a):
        return isinstance(a, (int, np.integer)) and not isinstance(a, bool)

    t = None
    if is_int(v):
        t = (int(v),) * n
    elif isinstance(v, (tuple, list)) and len(v) == n and all(is_int(a) for a in v):
        t = tuple(int(a) for a in v)
    if t is None or min(t) < low:
        raise ValueError(f"{op}: {name} must be an int >= {low} or a tuple of {n} such ints; "
                         f"got {v!r}")
    return t


def _as_float_tensor(op, x, what):
    x = to_tensor(x)
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: {what} must be a floating tensor; got dtype {x.dtype}")
    return x


def batched(op, x, nd, extra=""):
    """x with a batch axis (torch accepts an unbatched (C, *spatial) input) and whether it was
    added; raises naming the op on a wrong number of dimensions."""
    if x.ndim == nd + 2:
        return x, False
    if x.ndim == nd + 1:
        return x.unsqueeze(0), True
    spatial = ("L",) if nd == 1 else ("H", "W")
    raise ValueError(f"{op}: expected a {nd + 1}-D (unbatched) or {nd + 2}-D (batched) input "
                     f"(N, C, {', '.join(spatial)}){extra}; got shape {tuple(x.shape)}")


def to_2d(x, nd):
    """An (N, C, L) tensor as (N, C, 1, L); a 2-D one unchanged."""
    return x.unsqueeze(2) if nd == 1 else x


def from_2d(y, nd, unbatched):
    y = y.squeeze(2) if nd == 1 else y
    return y.squeeze(0) if unbatched else y


def _conv_padding(op, padding, nd, k, dilation, stride):
    """((top, bottom), (left, right)) from torch's padding (int, tuple, 'same', 'valid')."""
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * nd
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"{op}: padding='same' is not supported for strided "
                                 f"convolutions; got stride {stride}")
            # torch puts the odd extra row or column at the end
            total = [d * (kk - 1) for d, kk in zip(dilation, k)]
            return tuple((t // 2, t - t // 2) for t in total)
        raise ValueError(f"{op}: padding must be an int, a tuple of {nd} ints, 'same' or "
                         f"'valid'; got {padding!r}")
    p = _ints(op, "padding", padding, nd, low=0)
    return tuple((a, a) for a in p)


def _check_conv(op, x, W, b, groups, transposed):
    if not isinstance(groups, (int, np.integer)) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int; got {groups!r}")
    c = x.shape[1]
    if transposed:
        if W.shape[0] != c:
            raise ValueError(f"{op}: expected input with {W.shape[0]} channels (weight of shape "
                             f"{tuple(W.shape)} is (in_channels, out_channels/groups, "
                             f"*kernel)); got {c} channels in input of shape {tuple(x.shape)}")
        if c % groups:
            raise ValueError(f"{op}: groups={groups} must divide in_channels {c}")
        out_channels = W.shape[1] * groups
    else:
        if W.shape[0] % groups:
            raise ValueError(f"{op}: groups={groups} must divide out_channels {W.shape[0]} "
                             f"(weight of shape {tuple(W.shape)})")
        if c != W.shape[1] * groups:
            raise ValueError(f"{op}: expected input with {W.shape[1] * groups} channels (weight "
                             f"of shape {tuple(W.shape)}: {W.shape[1]} per group, "
                             f"groups={groups}); got {c} channels in input of shape "
                             f"{tuple(x.shape)}")
        out_channels = W.shape[0]
    if b is not None and tuple(b.shape) != (out_channels,):
        raise ValueError(f"{op}: bias must have shape ({out_channels},); got {tuple(b.shape)}")


def _conv2d(x, W, b, s, pads, d, groups):
    """y = W cols + b: the columns of x (im2col, (Ho, C kh kw, Wo N)) times the weight as an
    (O, C kh kw) matrix, one GEMM per output row and group (batched matmul: panels of Wo N
    columns, which BLAS multiplies much faster than one wide matrix), viewed as (N, O, Ho, Wo).
    Its derivatives come from the composition: gW = sum_h g cols^T, gx = col2im(W^T g), and
    every higher order alike."""
    n, o = x.shape[0], W.shape[0]
    k = tuple(W.shape[2:])
    out = _out_size(x.shape[2:], pads, k, s, d)
    cols = Im2col(k, s, pads, d, out)(x)
    if groups == 1:
        y = MatMul()(W.reshape(o, -1), cols)  # (Ho, O, Wo N)
    else:
        y = MatMul()(W.reshape(groups, o // groups, -1),
                     cols.reshape(out[0], groups, -1, cols.shape[2])).reshape(out[0], o, -1)
    if b is not None:
        y = y + b.reshape(o, 1)
    return y.reshape(out[0], o, out[1], n).permute(3, 1, 0, 2)


def _conv_transpose2d(x, W, b, s, pads, d, groups, size):
    """y = col2im(W^T x) + b: conv2d's adjoint in its input, the columns W^T x summed back into
    the image. Derivatives from the composition: gx = W im2col(g), gW = x im2col(g)^T."""
    n, ci, h, w = x.shape
    co = W.shape[1] * groups
    k = tuple(W.shape[2:])
    xc = x.permute(2, 1, 3, 0).reshape(h, ci, w * n)  # (H, Ci, W N): one matrix per row
    if groups == 1:
        cols = MatMul()(W.reshape(ci, -1).mT, xc)  # (H, Co kh kw, W N)
    else:
        Wt = W.reshape(groups, ci // groups, -1).mT  # (groups, Co/g kh kw, Ci/g)
        cols = MatMul()(Wt, xc.reshape(h, groups, ci // groups, -1)).reshape(h, -1, w * n)
    y = Col2im(size, k, s, pads, d, (h, w))(cols)
    return y if b is None else y + b.reshape(co, 1, 1)


def _conv_nd(op, nd, input, weight, bias, stride, padding, dilation, groups):
    x = _as_float_tensor(op, input, "input")
    W = _as_float_tensor(op, weight, "weight")
    if W.ndim != nd + 2:
        raise ValueError(f"{op}: weight must be {nd + 2}-D (out_channels, in_channels/groups, "
                         f"*kernel); got shape {tuple(W.shape)}")
    x, unbatched = batched(op, x, nd)
    b = None if bias is None else _as_float_tensor(op, bias, "bias")
    _check_conv(op, x, W, b, groups, False)
    k = tuple(W.shape[2:])
    s = _ints(op, "stride", stride, nd)
    d = _ints(op, "dilation", dilation, nd)
    pads = _conv_padding(op, padding, nd, k, d, s)
    size = tuple(x.shape[2:])
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(size, pads))
    reach = tuple(dd * (kk - 1) + 1 for dd, kk in zip(d, k))
    if any(p < r for p, r in zip(padded, reach)):
        raise ValueError(f"{op}: input of shape {tuple(x.shape)} (spatial size {size}, padded "
                         f"{padded}) is smaller than the kernel {k} (dilated: {reach})")
    if nd == 1:
        x, W = x.unsqueeze(2), W.unsqueeze(2)
        s, d, pads = (1,) + s, (1,) + d, ((0, 0),) + pads
    return from_2d(_conv2d(x, W, b, s, pads, d, int(groups)), nd, unbatched)


def _conv_t_nd(op, nd, input, weight, bias, stride, padding, output_padding, groups, dilation):
    x = _as_float_tensor(op, input, "input")
    W = _as_float_tensor(op, weight, "weight")
    if W.ndim != nd + 2:
        raise ValueError(f"{op}: weight must be {nd + 2}-D (in_channels, out_channels/groups, "
                         f"*kernel); got shape {tuple(W.shape)}")
    x, unbatched = batched(op, x, nd)
    b = None if bias is None else _as_float_tensor(op, bias, "bias")
    _check_conv(op, x, W, b, groups, True)
    if isinstance(padding, str):
        raise ValueError(f"{op}: padding must be an int or a tuple of {nd} ints; got "
                         f"{padding!r}")
    k = tuple(W.shape[2:])
    s = _ints(op, "stride", stride, nd)
    d = _ints(op, "dilation", dilation, nd)
    p = _ints(op, "padding", padding, nd, low=0)
    op_ = _ints(op, "output_padding", output_padding, nd, low=0)
    for a in range(nd):
        if op_[a] >= s[a] and op_[a] >= d[a]:
            raise ValueError(f"{op}: output_padding must be smaller than either stride or "
                             f"dilation; got output_padding {op_}, stride {s}, dilation {d}")
    size = tuple((n - 1) * s[a] - 2 * p[a] + d[a] * (k[a] - 1) + op_[a] + 1
                 for a, n in enumerate(x.shape[2:]))
    if any(n < 1 for n in size):
        raise ValueError(f"{op}: the output size {size} is not positive (input of shape "
                         f"{tuple(x.shape)}, kernel {k}, stride {s}, padding {p})")
    pads = tuple((a, a) for a in p)
    if nd == 1:
        x, W = x.unsqueeze(2), W.unsqueeze(2)
        s, d, pads, size = (1,) + s, (1,) + d, ((0, 0),) + pads, (1,) + size
    return from_2d(_conv_transpose2d(x, W, b, s, pads, d, int(groups), size), nd, unbatched)


@op(namespace="nn.functional", classes=(Im2col, Col2im))
def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D cross-correlation: y[n,o,l] = b_o + sum_{c,i} W[o,c,i] x_pad[n, c, l s + i d]."""
    return _conv_nd("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


@op(namespace="nn.functional", classes=(Im2col, Col2im))
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation: y[n,o,h,w] = b_o + sum_{c,i,j} W[o,c,i,j] x_pad[n,c,hs+id,ws+jd].

    One GEMM over im2col columns (a strided view); weight (out, in/groups, kh, kw).

        >>> import chainrule as cr
        >>> F = cr.nn.functional
        >>> F.conv2d(cr.ones(1, 1, 3, 3), cr.ones(1, 1, 2, 2)).tolist()
        [[[[4.0, 4.0], [4.0, 4.0]]]]
    """
    return _conv_nd("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


@op(namespace="nn.functional", classes=(Im2col, Col2im))
def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """1-D transposed convolution (conv1d's adjoint in its input): y[n, c, l s + i d - p] +=
    x[n,o,l] W[o,c,i]."""
    return _conv_t_nd("conv_transpose1d", 1, input, weight, bias, stride, padding,
                      output_padding, groups, dilation)


@op(namespace="nn.functional", classes=(Im2col, Col2im))
def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """2-D transposed convolution (conv2d's adjoint in its input): y[n, c, h s + i d - p,
    w s + j d - p] += x[n,o,h,w] W[o,c,i,j]; weight (in, out/groups, kh, kw)."""
    return _conv_t_nd("conv_transpose2d", 2, input, weight, bias, stride, padding,
                      output_padding, groups, dilation)


def _unfold_args(op, kernel_size, dilation, padding, stride):
    k = _ints(op, "kernel_size", kernel_size, 2)
    d = _ints(op, "dilation", dilation, 2)
    p = _ints(op, "padding", padding, 2, low=0)
    s = _ints(op, "stride", stride, 2)
    return k, d, tuple((a, a) for a in p), s


@op(namespace="nn.functional", classes=(Unfold, Fold))
def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """im2col: (N, C, H, W) -> (N, C kh kw, L), column l holding the l-th sliding block."""
    x = _as_float_tensor("unfold", input, "input")
    x, unbatched = batched("unfold", x, 2)
    k, d, pads, s = _unfold_args("unfold", kernel_size, dilation, padding, stride)
    out = _out_size(x.shape[2:], pads, k, s, d)
    if min(out) < 1:
        raise ValueError(f"unfold: input of shape {tuple(x.shape)} with padding "
                         f"{tuple(p[0] for p in pads)} is smaller than the kernel {k} "
                         f"(dilation {d})")
    y = Unfold(k, s, pads, d, out)(x)
    return y.squeeze(0) if unbatched else y


@op(namespace="nn.functional", classes=(Unfold, Fold))
def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """col2im: (N, C kh kw, L) -> (N, C, H, W), overlapping blocks summed (unfold's adjoint)."""
    x = _as_float_tensor("fold", input, "input")
    unbatched = x.ndim == 2
    if unbatched:
        x = x.unsqueeze(0)
    if x.ndim != 3:
        raise ValueError(f"fold: expected a 2-D (unbatched) or 3-D (N, C kh kw, L) input; got "
                         f"shape {tuple(x.shape)}")
    size = _ints("fold", "output_size", output_size, 2)
    k, d, pads, s = _unfold_args("fold", kernel_size, dilation, padding, stride)
    out = _out_size(size, pads, k, s, d)
    kk = k[0] * k[1]
    if x.shape[1] % kk or x.shape[2] != out[0] * out[1] or min(out) < 1:
        raise ValueError(f"fold: expected input of shape (N, C * {kk}, {out[0] * out[1]}) for "
                         f"output_size {size}, kernel {k}, dilation {d}, padding "
                         f"{tuple(p[0] for p in pads)}, stride {s}; got {tuple(x.shape)}")
    y = Fold(size, k, s, pads, d, out)(x)
    return y.squeeze(0) if unbatched else y
