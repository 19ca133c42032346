"""Op-table rows of the convolution family (chainrule/ops/conv.py, pool.py, resample.py): conv1d/2d,
conv_transpose1d/2d, max/avg/adaptive pools, unfold/fold, F.pad modes and F.interpolate, over a
grid of strides, paddings, dilations, groups and non-square kernels, 1-D and 2-D, batch 1.

The references are plain NumPy written from the definitions (a loop over output positions, no
im2col), so they share no code with chainrule's. Rows with a `torch` function are also compared
with PyTorch, live (tests/core/test_ops.py) and through tests/golden/conv.npz, which
tools/golden/conv.py writes (tests/nn/test_conv_golden.py).
"""

import math

import numpy as np

import chainrule.nn.functional as F
from tests.core.op_table import OPS, row

ROWS = []  # this family's rows (the golden file holds PyTorch's results for those with torch)


def _row(id, fn, ref, shapes, torch_fn=None):
    row(id, fn, ref, shapes, torch=torch_fn)
    ROWS.append(OPS[-1])


def _tf(name, **kw):
    def f(*xs):
        import torch.nn.functional as TF

        return getattr(TF, name)(*xs, **kw)

    return f


def _t(v, n):
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * n


# ---- references ------------------------------------------------------------------------------


def ref_conv(x, W, b=None, stride=1, padding=0, dilation=1, groups=1):
    """Cross-correlation of x (N, C, *spatial) with W (O, C/groups, *kernel), any 1 or 2 dims."""
    nd = x.ndim - 2
    if nd == 1:
        return ref_conv(x[:, :, None], W[:, :, None], b, (1,) + _t(stride, 1),
                        "same" if padding == "same" else (0,) + _t(padding, 1),
                        (1,) + _t(dilation, 1), groups)[:, :, 0]
    s, d, k = _t(stride, 2), _t(dilation, 2), W.shape[2:]
    if padding == "valid":
        padding = 0
    if padding == "same":
        tot = [dd * (kk - 1) for dd, kk in zip(d, k)]
        pads = [(t // 2, t - t // 2) for t in tot]
    else:
        pads = [(p, p) for p in _t(padding, 2)]
    xp = np.pad(x, [(0, 0), (0, 0)] + pads)
    ho = [(xp.shape[2 + a] - d[a] * (k[a] - 1) - 1) // s[a] + 1 for a in range(2)]
    O, cg = W.shape[:2]
    y = np.zeros((x.shape[0], O, *ho))
    for o in range(O):
        g = o // (O // groups)
        for h in range(ho[0]):
            for w in range(ho[1]):
                patch = xp[:, g * cg:(g + 1) * cg, h * s[0]:h * s[0] + d[0] * (k[0] - 1) + 1:d[0],
                           w * s[1]:w * s[1] + d[1] * (k[1] - 1) + 1:d[1]]
                y[:, o, h, w] = (patch * W[o]).sum((1, 2, 3))
    return y if b is None else y + b.reshape(-1, 1, 1)


def ref_conv_t(x, W, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Transposed convolution by scattering: y[.., h s + i d - p, ..] += x[.., h, ..] W[..]."""
    nd = x.ndim - 2
    if nd == 1:
        return ref_conv_t(x[:, :, None], W[:, :, None], b, (1,) + _t(stride, 1),
                          (0,) + _t(padding, 1), (0,) + _t(output_padding, 1), groups,
                          (1,) + _t(dilation, 1))[:, :, 0]
    s, p, op, d = _t(stride, 2), _t(padding, 2), _t(output_padding, 2), _t(dilation, 2)
    ci, cog, kh, kw = W.shape
    cig = ci // groups
    full = [(x.shape[2 + a] - 1) * s[a] + d[a] * (W.shape[2 + a] - 1) + 1 + op[a]
            for a in range(2)]
    y = np.zeros((x.shape[0], cog * groups, *full))
    for c in range(ci):
        g = c // cig
        for h in range(x.shape[2]):
            for w in range(x.shape[3]):
                y[:, g * cog:(g + 1) * cog, h * s[0]:h * s[0] + d[0] * (kh - 1) + 1:d[0],
                  w * s[1]:w * s[1] + d[1] * (kw - 1) + 1:d[1]] += \
                    x[:, c, h, w][:, None, None, None] * W[c]
    y = y[:, :, p[0]:full[0] - p[0], p[1]:full[1] - p[1]]
    return y if b is None else y + b.reshape(-1, 1, 1)


def _pool_out(n, k, s, p, d, ceil):
    span = n + 2 * p - d * (k - 1) - 1
    out = (math.ceil(span / s) if ceil else span // s) + 1
    return out - 1 if ceil and (out - 1) * s >= n + p else out


def ref_max_pool(x, k, s=None, p=0, d=1, ceil=False, indices=False):
    """max over each window, -inf padding (2-D; 1-D through a height-1 image)."""
    if x.ndim == 3:
        r = ref_max_pool(x[:, :, None], (1,) + _t(k, 1), (1,) + _t(s or k, 1), (0,) + _t(p, 1),
                         (1,) + _t(d, 1), ceil, indices)
        return tuple(a[:, :, 0] for a in r) if indices else r[:, :, 0]
    k, p, d = _t(k, 2), _t(p, 2), _t(d, 2)
    s = k if s is None else _t(s, 2)
    out = [_pool_out(x.shape[2 + a], k[a], s[a], p[a], d[a], ceil) for a in range(2)]
    y = np.zeros(x.shape[:2] + tuple(out))
    idx = np.zeros(y.shape, dtype=np.int64)
    H, W = x.shape[2:]
    for h in range(out[0]):
        for w in range(out[1]):
            best = np.full(x.shape[:2], -np.inf)
            where = np.zeros(x.shape[:2], dtype=np.int64)
            for i in range(k[0]):
                for j in range(k[1]):
                    r, c = h * s[0] - p[0] + i * d[0], w * s[1] - p[1] + j * d[1]
                    if 0 <= r < H and 0 <= c < W:
                        v = x[:, :, r, c]
                        where = np.where(v > best, r * W + c, where)
                        best = np.maximum(best, v)
            y[:, :, h, w], idx[:, :, h, w] = best, where
    return (y, idx) if indices else y


def ref_avg_pool(x, k, s=None, p=0, ceil=False, include_pad=True, divisor=None):
    """mean over each window (torch's divisor: the window clipped to the padded input, or to
    the input itself, or divisor_override)."""
    if x.ndim == 3:
        return ref_avg_pool(x[:, :, None], (1,) + _t(k, 1), (1,) + _t(s or k, 1),
                            (0,) + _t(p, 1), ceil, include_pad, divisor)[:, :, 0]
    k, p = _t(k, 2), _t(p, 2)
    s = k if s is None else _t(s, 2)
    out = [_pool_out(x.shape[2 + a], k[a], s[a], p[a], 1, ceil) for a in range(2)]
    H, W = x.shape[2:]
    y = np.zeros(x.shape[:2] + tuple(out))
    for h in range(out[0]):
        for w in range(out[1]):
            h0, w0 = h * s[0] - p[0], w * s[1] - p[1]
            h1, w1 = min(h0 + k[0], H + p[0]), min(w0 + k[1], W + p[1])
            size = (h1 - h0) * (w1 - w0)
            h0, w0, h1, w1 = max(h0, 0), max(w0, 0), min(h1, H), min(w1, W)
            total = x[:, :, h0:h1, w0:w1].sum((2, 3))
            den = divisor or (size if include_pad else (h1 - h0) * (w1 - w0))
            y[:, :, h, w] = total / den
    return y


def _adaptive_bounds(n, m):
    return [(o * n // m, -(-(o + 1) * n // m)) for o in range(m)]


def ref_adaptive(x, size, reduce):
    """reduce (np.mean or np.max) over torch's adaptive windows [floor(o n/m), ceil((o+1) n/m))."""
    if x.ndim == 3:
        return ref_adaptive(x[:, :, None], (1, size), reduce)[:, :, 0]
    size = _t(size, 2)
    rows, cols = (_adaptive_bounds(x.shape[2 + a], size[a]) for a in range(2))
    y = np.zeros(x.shape[:2] + size)
    for h, (h0, h1) in enumerate(rows):
        for w, (w0, w1) in enumerate(cols):
            y[:, :, h, w] = reduce(x[:, :, h0:h1, w0:w1], axis=(2, 3))
    return y


def ref_unfold(x, k, d=1, p=0, s=1):
    k, d, p, s = _t(k, 2), _t(d, 2), _t(p, 2), _t(s, 2)
    xp = np.pad(x, [(0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])])
    out = [(xp.shape[2 + a] - d[a] * (k[a] - 1) - 1) // s[a] + 1 for a in range(2)]
    cols = []
    for h in range(out[0]):
        for w in range(out[1]):
            patch = xp[:, :, h * s[0]:h * s[0] + d[0] * (k[0] - 1) + 1:d[0],
                       w * s[1]:w * s[1] + d[1] * (k[1] - 1) + 1:d[1]]
            cols.append(patch.reshape(x.shape[0], -1))
    return np.stack(cols, axis=2)


def ref_fold(x, size, k, d=1, p=0, s=1):
    k, d, p, s = _t(k, 2), _t(d, 2), _t(p, 2), _t(s, 2)
    n = x.shape[0]
    c = x.shape[1] // (k[0] * k[1])
    yp = np.zeros((n, c, size[0] + 2 * p[0], size[1] + 2 * p[1]))
    out = [(yp.shape[2 + a] - d[a] * (k[a] - 1) - 1) // s[a] + 1 for a in range(2)]
    for h in range(out[0]):
        for w in range(out[1]):
            yp[:, :, h * s[0]:h * s[0] + d[0] * (k[0] - 1) + 1:d[0],
               w * s[1]:w * s[1] + d[1] * (k[1] - 1) + 1:d[1]] += \
                x[:, :, h * out[1] + w].reshape(n, c, k[0], k[1])
    return yp[:, :, p[0]:p[0] + size[0], p[1]:p[1] + size[1]]


def ref_pad(x, pad, mode="constant", value=0.0):
    pairs = [(0, 0)] * (x.ndim - len(pad) // 2) + [(pad[2 * i], pad[2 * i + 1])
                                                   for i in reversed(range(len(pad) // 2))]
    if mode == "constant":
        return np.pad(x, pairs, constant_values=value)
    return np.pad(x, pairs, mode={"reflect": "reflect", "replicate": "edge",
                                  "circular": "wrap"}[mode])


def ref_interpolate(x, size, mode="nearest", align_corners=False, scale=None):
    """Per output position: nearest src = floor(dst in/out); linear: half-pixel centres (or
    align_corners) with the two neighbours' weights; separable over the spatial axes."""
    y = x
    for axis in range(2, x.ndim):
        n, m = x.shape[axis], size[axis - 2]
        sc = None if scale is None else scale[axis - 2]
        parts = []
        for o in range(m):
            if mode == "nearest":
                src = min(int(math.floor(o * (n / m if sc is None else sc))), n - 1)
                parts.append(np.take(y, src, axis))
                continue
            if align_corners:
                src = o * (n - 1) / (m - 1) if m > 1 else 0.0
            else:
                src = max((o + 0.5) * (n / m if sc is None else sc) - 0.5, 0.0)
            i0 = min(int(math.floor(src)), n - 1)
            i1, lam = min(i0 + 1, n - 1), src - i0
            parts.append((1 - lam) * np.take(y, i0, axis) + lam * np.take(y, i1, axis))
        y = np.stack(parts, axis)
    return y


# ---- conv2d: a grid of stride / padding / dilation / groups / kernel shapes -----------------
CONV2D = [  # (C, O, kernel, stride, padding, dilation, groups, bias)
    (2, 3, (3, 3), 1, 0, 1, 1, True),
    (2, 3, (2, 3), 1, 1, 1, 1, False),  # non-square kernel
    (2, 2, (3, 2), 2, 1, 1, 1, True),
    (1, 2, (2, 2), (2, 1), (0, 1), (2, 1), 1, True),
    (2, 2, (3, 3), 1, 2, 2, 1, False),
    (4, 4, (2, 2), 1, 0, 1, 2, True),  # groups
    (2, 4, (3, 1), (1, 2), (1, 0), 1, 2, True),
    (3, 3, (3, 3), 1, 1, 1, 3, False),  # depthwise
    (2, 2, (3, 2), 1, "same", 1, 1, True),  # 'same' with an even kernel width: uneven padding
    (2, 2, (2, 3), 1, "same", (2, 1), 1, False),
    (2, 2, (2, 2), 1, "valid", 1, 1, True),
]
for C, O, k, s, p, d, g, bias in CONV2D:
    kw = dict(stride=s, padding=p, dilation=d, groups=g)
    shapes = ((1, C, 5, 6), (O, C // g) + k) + (((O,),) if bias else ())
    _row(f"conv2d[C={C},O={O},k={k},s={s},p={p},d={d},g={g},b={bias}]",
         lambda *a, kw=kw: F.conv2d(*a, **kw), lambda *a, kw=kw: ref_conv(*a, **kw), shapes,
         _tf("conv2d", **kw))

CONV1D = [(2, 3, 3, 1, 0, 1, 1, True), (2, 2, 2, 2, 1, 1, 1, False), (2, 2, 3, 1, 2, 2, 1, True),
          (4, 2, 2, 1, 0, 1, 2, True), (2, 2, 4, 1, "same", 1, 1, False)]
for C, O, k, s, p, d, g, bias in CONV1D:
    kw = dict(stride=s, padding=p, dilation=d, groups=g)
    shapes = ((1, C, 7), (O, C // g, k)) + (((O,),) if bias else ())
    _row(f"conv1d[C={C},O={O},k={k},s={s},p={p},d={d},g={g},b={bias}]",
         lambda *a, kw=kw: F.conv1d(*a, **kw), lambda *a, kw=kw: ref_conv(*a, **kw), shapes,
         _tf("conv1d", **kw))

CONV_T2D = [  # (Cin, Cout, kernel, stride, padding, output_padding, groups, dilation, bias)
    (2, 3, (3, 3), 1, 0, 0, 1, 1, True),
    (2, 2, (2, 3), 2, 1, 1, 1, 1, False),
    (2, 2, (3, 2), (2, 1), (1, 0), (1, 0), 1, (1, 2), True),
    (4, 4, (2, 2), 2, 0, 0, 2, 1, True),
    (2, 2, (3, 3), 1, 1, 1, 1, 2, False),  # output_padding < dilation
]
for C, O, k, s, p, op, g, d, bias in CONV_T2D:
    kw = dict(stride=s, padding=p, output_padding=op, groups=g, dilation=d)
    shapes = ((1, C, 3, 4), (C, O // g) + k) + (((O,),) if bias else ())
    _row(f"conv_transpose2d[C={C},O={O},k={k},s={s},p={p},op={op},g={g},d={d},b={bias}]",
         lambda *a, kw=kw: F.conv_transpose2d(*a, **kw), lambda *a, kw=kw: ref_conv_t(*a, **kw),
         shapes, _tf("conv_transpose2d", **kw))

CONV_T1D = [(2, 3, 3, 1, 0, 0, 1, 1, True), (2, 2, 2, 2, 1, 1, 1, 1, False),
            (4, 2, 3, 2, 1, 0, 2, 2, True)]
for C, O, k, s, p, op, g, d, bias in CONV_T1D:
    kw = dict(stride=s, padding=p, output_padding=op, groups=g, dilation=d)
    shapes = ((1, C, 4), (C, O // g, k)) + (((O,),) if bias else ())
    _row(f"conv_transpose1d[C={C},O={O},k={k},s={s},p={p},op={op},g={g},d={d},b={bias}]",
         lambda *a, kw=kw: F.conv_transpose1d(*a, **kw), lambda *a, kw=kw: ref_conv_t(*a, **kw),
         shapes, _tf("conv_transpose1d", **kw))

# ---- pooling ----------------------------------------------------------------------------------
MAX2D = [((2, 2), None, 0, 1, False), ((3, 2), (2, 1), (1, 1), 1, False),
         ((2, 3), 2, (1, 1), (1, 2), True), ((3, 3), 2, 1, 1, True)]
for k, s, p, d, ceil in MAX2D:
    kw = dict(kernel_size=k, stride=s, padding=p, dilation=d, ceil_mode=ceil)
    _row(f"max_pool2d[k={k},s={s},p={p},d={d},ceil={ceil}]",
         lambda x, kw=kw: F.max_pool2d(x, **kw),
         lambda x, k=k, s=s, p=p, d=d, c=ceil: ref_max_pool(x, k, s, p, d, c), ((1, 2, 6, 7),),
         _tf("max_pool2d", **kw))
for k, s, p, d, ceil in [(2, None, 0, 1, False), (3, 2, 1, 2, True)]:
    kw = dict(kernel_size=k, stride=s, padding=p, dilation=d, ceil_mode=ceil)
    _row(f"max_pool1d[k={k},s={s},p={p},d={d},ceil={ceil}]",
         lambda x, kw=kw: F.max_pool1d(x, **kw),
         lambda x, k=k, s=s, p=p, d=d, c=ceil: ref_max_pool(x, k, s, p, d, c), ((1, 2, 9),),
         _tf("max_pool1d", **kw))
AVG2D = [((2, 2), None, 0, False, True, None), ((3, 2), (2, 1), (1, 1), False, True, None),
         ((3, 3), 2, 1, True, False, None), ((2, 3), 2, (1, 1), True, True, None),
         ((3, 3), 2, 1, False, True, 4)]
for k, s, p, ceil, inc, div in AVG2D:
    kw = dict(kernel_size=k, stride=s, padding=p, ceil_mode=ceil, count_include_pad=inc,
              divisor_override=div)
    _row(f"avg_pool2d[k={k},s={s},p={p},ceil={ceil},include_pad={inc},div={div}]",
         lambda x, kw=kw: F.avg_pool2d(x, **kw),
         lambda x, a=(k, s, p, ceil, inc, div): ref_avg_pool(x, *a), ((1, 2, 6, 7),),
         _tf("avg_pool2d", **kw))
for k, s, p, ceil, inc in [(2, None, 0, False, True), (3, 2, 1, True, False)]:
    kw = dict(kernel_size=k, stride=s, padding=p, ceil_mode=ceil, count_include_pad=inc)
    _row(f"avg_pool1d[k={k},s={s},p={p},ceil={ceil},include_pad={inc}]",
         lambda x, kw=kw: F.avg_pool1d(x, **kw),
         lambda x, a=(k, s, p, ceil, inc): ref_avg_pool(x, *a), ((1, 2, 8),),
         _tf("avg_pool1d", **kw))
for size in [(3, 2), (2, 7), 1]:
    _row(f"adaptive_avg_pool2d[{size}]", lambda x, o=size: F.adaptive_avg_pool2d(x, o),
         lambda x, o=size: ref_adaptive(x, o, np.mean), ((1, 2, 5, 7),),
         _tf("adaptive_avg_pool2d", output_size=size))
    _row(f"adaptive_max_pool2d[{size}]", lambda x, o=size: F.adaptive_max_pool2d(x, o),
         lambda x, o=size: ref_adaptive(x, o, np.max), ((1, 2, 5, 7),),
         _tf("adaptive_max_pool2d", output_size=size))
for size in (3, 4):
    _row(f"adaptive_avg_pool1d[{size}]", lambda x, o=size: F.adaptive_avg_pool1d(x, o),
         lambda x, o=size: ref_adaptive(x, o, np.mean), ((1, 2, 8),),
         _tf("adaptive_avg_pool1d", output_size=size))
    _row(f"adaptive_max_pool1d[{size}]", lambda x, o=size: F.adaptive_max_pool1d(x, o),
         lambda x, o=size: ref_adaptive(x, o, np.max), ((1, 2, 7),),
         _tf("adaptive_max_pool1d", output_size=size))

# ---- unfold / fold ---------------------------------------------------------------------------
UNFOLD = [((2, 2), 1, 0, 1), ((2, 3), (1, 2), 1, (2, 1)), ((3, 3), 1, 1, 2)]
for k, d, p, s in UNFOLD:
    kw = dict(kernel_size=k, dilation=d, padding=p, stride=s)
    _row(f"unfold[k={k},d={d},p={p},s={s}]", lambda x, kw=kw: F.unfold(x, **kw),
         lambda x, a=(k, d, p, s): ref_unfold(x, *a), ((1, 2, 5, 6),), _tf("unfold", **kw))
    n_cols = ref_unfold(np.zeros((1, 2, 5, 6)), k, d, p, s).shape
    _row(f"fold[k={k},d={d},p={p},s={s}]", lambda x, kw=kw: F.fold(x, (5, 6), **kw),
         lambda x, a=(k, d, p, s): ref_fold(x, (5, 6), *a), (n_cols,),
         _tf("fold", output_size=(5, 6), **kw))

# ---- padding modes and interpolation ---------------------------------------------------------
for mode in ("reflect", "replicate", "circular"):
    _row(f"pad_{mode}_2d", lambda x, m=mode: F.pad(x, (1, 2, 2, 1), mode=m),
         lambda x, m=mode: ref_pad(x, (1, 2, 2, 1), m), ((1, 2, 3, 4),),
         _tf("pad", pad=(1, 2, 2, 1), mode=mode))
    _row(f"pad_{mode}_1d", lambda x, m=mode: F.pad(x, (2, 1), mode=m),
         lambda x, m=mode: ref_pad(x, (2, 1), m), ((1, 2, 4),), _tf("pad", pad=(2, 1), mode=mode))
_row("pad_constant", lambda x: F.pad(x, (1, 0, 2, 1), value=0.5),
     lambda x: ref_pad(x, (1, 0, 2, 1), value=0.5), ((1, 2, 3, 4),),
     _tf("pad", pad=(1, 0, 2, 1), value=0.5))
INTERP = [  # (input shape, size, scale_factor, mode, align_corners)
    ((1, 2, 3, 4), None, 2, "nearest", None),
    ((1, 2, 3, 4), (5, 3), None, "nearest", None),
    ((1, 2, 3, 4), None, (1.5, 2.5), "nearest", None),
    ((1, 2, 3, 4), None, 2, "bilinear", False),
    ((1, 2, 3, 4), (5, 3), None, "bilinear", True),
    ((1, 2, 3, 4), None, 1.7, "bilinear", False),
    ((1, 2, 4), 7, None, "linear", False),
    ((1, 2, 4), None, 2, "nearest", None),
]
for shape, size, sf, mode, ac in INTERP:
    kw = dict(size=size, scale_factor=sf, mode=mode, align_corners=ac)
    nd = len(shape) - 2
    out = _t(size, nd) if size is not None else \
        tuple(int(math.floor(n * f)) for n, f in zip(shape[2:], _t(sf, nd)))
    scale = None if sf is None else tuple(1.0 / f for f in _t(sf, nd))
    _row(f"interpolate[{shape},size={size},sf={sf},{mode},ac={ac}]",
         lambda x, kw=kw: F.interpolate(x, **kw),
         lambda x, a=(out, mode, ac, scale): ref_interpolate(x, *a), (shape,),
         _tf("interpolate", **kw))
