"""Padding modes and resampling: F.pad (constant, reflect, replicate, circular) and
F.interpolate (nearest, linear, bilinear), with PyTorch's arguments and index rules.

Both are compositions, so every derivative order comes free: a non-constant pad is one gather
x[..., idx] along each padded axis (its adjoint scatter-adds where reflected positions repeat),
and interpolation is separable, y = A_h x A_w^T with constant (out, in) matrices of
nearest-neighbour picks or linear weights (two matmuls).
"""

import math

import numpy as np

from chainrule.ops.arithmetic import const, to_tensor
from chainrule.ops.conv import _as_float_tensor
from chainrule.ops.registry import op
from chainrule.ops.shape import pad as _constant_pad

_NUMPY_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


@op("pad", namespace="nn.functional")
def pad(input, pad, mode="constant", value=None):
    """y = x extended along its last len(pad)/2 axes, pad = (left, right, top, bottom, ...) from
    the last axis back; constant (value), reflect (mirror, edge excluded), replicate, circular."""
    x = to_tensor(input)
    if not isinstance(pad, (tuple, list)) or len(pad) % 2 or \
            not all(isinstance(p, (int, np.integer)) and not isinstance(p, bool) for p in pad):
        raise ValueError(f"pad: pad must be a tuple of an even number of ints (left, right, "
                         f"top, bottom, ...); got {pad!r}")
    m = len(pad) // 2
    if m > x.ndim:
        raise ValueError(f"pad: {len(pad)} pad values pad {m} dimensions, but the input of "
                         f"shape {tuple(x.shape)} has {x.ndim}")
    pairs = [(0, 0)] * (x.ndim - m) + [(int(pad[2 * i]), int(pad[2 * i + 1]))
                                       for i in reversed(range(m))]
    if mode == "constant":
        if any(p < 0 for pr in pairs for p in pr):
            raise ValueError(f"pad: negative padding is not supported; got {pad!r}")
        return _constant_pad(x, tuple(pairs), value=0.0 if value is None else value)
    if mode not in _NUMPY_MODES:
        raise ValueError(f"pad: mode must be 'constant', 'reflect', 'replicate' or 'circular'; "
                         f"got {mode!r}")
    if value:
        raise ValueError(f"pad: value is only used with mode='constant'; got value={value} "
                         f"with mode={mode!r}")
    if not x.ndim - 2 >= m >= 1:
        raise ValueError(f"pad: mode={mode!r} pads the last 1 to {max(x.ndim - 2, 1)} "
                         f"dimensions of an (N, C, ...) input; got {len(pad)} pad values for "
                         f"shape {tuple(x.shape)}")
    for axis, (lo, hi) in enumerate(pairs):
        if not (lo or hi):
            continue
        n = x.shape[axis]
        if lo < 0 or hi < 0 or (mode == "reflect" and max(lo, hi) >= n) or \
                (mode == "circular" and max(lo, hi) > n):
            bound = "smaller than" if mode == "reflect" else "at most"
            raise ValueError(f"pad: {mode} padding ({lo}, {hi}) of dimension {axis} must be "
                             f"non-negative and {bound} its size {n}; input shape "
                             f"{tuple(x.shape)}")
        idx = np.pad(np.arange(n), (lo, hi), mode=_NUMPY_MODES[mode])
        x = x[(slice(None),) * axis + (idx,)]
    return x


def _interp_matrix(n, m, mode, align_corners, scale):
    """(m, n) matrix mapping n input positions to m outputs along one axis, torch's rules;
    scale is 1/scale_factor when one was given (torch uses it, not n/m)."""
    A = np.zeros((m, n))
    out = np.arange(m)
    if mode == "nearest":
        r = n / m if scale is None else scale
        src = np.minimum(np.floor(out * r).astype(np.int64), n - 1)
        A[out, src] = 1.0
        return A
    if align_corners:
        r = (n - 1) / (m - 1) if m > 1 else 0.0
        src = out * r
    else:
        r = n / m if scale is None else scale
        src = np.maximum((out + 0.5) * r - 0.5, 0.0)
    i0 = np.minimum(np.floor(src).astype(np.int64), n - 1)
    i1 = np.minimum(i0 + 1, n - 1)
    w1 = src - i0
    np.add.at(A, (out, i0), 1.0 - w1)
    np.add.at(A, (out, i1), w1)
    return A


_MODES = {"nearest": 0, "linear": 1, "bilinear": 2}


@op(namespace="nn.functional")
def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize (N, C, L) or (N, C, H, W): y = A_h x A_w^T with torch's nearest (src = floor(dst
    in/out)) or linear weights (half-pixel centres, or align_corners)."""
    x = _as_float_tensor("interpolate", input, "input")
    if mode not in _MODES:
        raise ValueError(f"interpolate: mode must be 'nearest', 'linear' or 'bilinear'; got "
                         f"{mode!r}")
    nd = x.ndim - 2
    if nd not in (1, 2) or (_MODES[mode] and _MODES[mode] != nd):
        raise ValueError(f"interpolate: mode={mode!r} expects a "
                         f"{'3-D or 4-D' if mode == 'nearest' else str(_MODES[mode] + 2) + '-D'}"
                         f" (N, C, ...) input; got shape {tuple(x.shape)}")
    if mode == "nearest" and align_corners is not None:
        raise ValueError("interpolate: align_corners is only used with mode='linear' or "
                         "'bilinear'")
    if antialias:
        raise ValueError("interpolate: antialias=True is not supported")
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor; got "
                         f"size={size!r}, scale_factor={scale_factor!r}")
    spatial = x.shape[2:]
    if size is not None:
        out = (size,) * nd if isinstance(size, (int, np.integer)) else tuple(size)
        scales = (None,) * nd
    else:
        sf = (scale_factor,) * nd if isinstance(scale_factor, (int, float)) else \
            tuple(scale_factor)
        if len(sf) != nd or any(f <= 0 for f in sf):
            raise ValueError(f"interpolate: scale_factor must be positive, one per spatial "
                             f"dimension ({nd}); got {scale_factor!r}")
        out = tuple(int(math.floor(n * f)) for n, f in zip(spatial, sf))
        scales = (None,) * nd if recompute_scale_factor else tuple(1.0 / f for f in sf)
    if len(out) != nd or any(not isinstance(m, (int, np.integer)) or m < 1 for m in out):
        raise ValueError(f"interpolate: the output size must hold {nd} positive ints; got "
                         f"{out!r}")
    y = x
    for axis, (n, m, r) in enumerate(zip(spatial, out, scales)):
        if n == m and r in (None, 1.0):
            continue
        A = const(_interp_matrix(n, m, mode, align_corners, r).astype(x.dtype), x)
        y = y @ A.mT if axis == nd - 1 else A @ y  # the last axis from the right, H from the left
    return y
