"""Fused loops for a few hot spots, compiled by numba when it is installed (the ``[fast]`` extra).

Each kernel performs, element by element, the IEEE operations of the NumPy code it stands in
for, in the same order and precision (numba without fastmath contracts no multiply-add), so its
results are NumPy's bit for bit: numba changes the speed, never a number. Reductions stay in
NumPy/BLAS, whose summation order is their own; a kernel fuses only the elementwise passes
around them. tests/perf/test_numba.py checks every kernel against the NumPy code it
replaces.

Kernels compile on first use (numba's import takes ~0.5 s, each new signature ~1 s, then it is
read from numba's cache). ``CHAINRULE_NUMBA=0`` turns them off; ``enabled()`` says whether they
are on. Callers ask ``get()`` and keep their NumPy code for when it returns None, and for
arrays a kernel does not take (not C-contiguous NumPy float32/float64 of one dtype). Where
numba has nowhere to write its cache the kernels compile uncached; an installed numba that
fails to import warns once and leaves NumPy.
"""

import os
import types
import warnings

import numpy as np

KERNELS = ("adam", "sgd", "sgd_momentum", "rows_add", "ln_centered_squares", "ln_affine",
           "ln_grad_products", "ln_grad_input", "softmax_shift", "softmax_divide",
           "softmax_grad_products", "softmax_grad", "relu", "relu_grad", "ce_shift", "ce_grad",
           "sigmoid_negate", "sigmoid_finish")
_loaded = False
_kernels = None


def get():
    """The compiled kernels (a namespace), or None without numba or with CHAINRULE_NUMBA=0."""
    if _loaded:
        return _kernels
    return _load()


def enabled():
    """Whether the numba kernels are in use."""
    return get() is not None


_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def fits(*arrays):
    """True if every array is a C-contiguous NumPy float32/float64 array of one dtype."""
    dtype = arrays[0].dtype
    if dtype not in _FLOATS:  # (the dtype objects themselves first: 0.1 us, not 0.3)
        return False
    for a in arrays:
        if type(a) is not np.ndarray or a.dtype != dtype or not a.flags.c_contiguous:
            return False
    return True


def _load():
    global _loaded, _kernels
    _loaded = True
    if os.environ.get("CHAINRULE_NUMBA", "1") == "0":
        return None
    try:
        import numba
    except ImportError:
        return None
    except Exception as e:  # an installed numba that cannot load (its NumPy too new, ...)
        warnings.warn(f"chainrule: numba could not be imported ({type(e).__name__}: {e}); "
                      f"computing with NumPy only", RuntimeWarning, stacklevel=3)
        return None

    def jit(fn):  # cached where numba can write (beside this file, or the user's cache)
        fn = getattr(fn, "py_func", fn)  # (a helper compiled by an earlier load: its source)
        try:
            return numba.njit(cache=True, nogil=True, error_model="numpy")(fn)
        except RuntimeError:  # ("no locator available": nowhere to write a cache)
            return numba.njit(nogil=True, error_model="numpy")(fn)

    namespace = globals()
    for helper in ("_pairwise_rows", "_nan_max"):  # (helpers: the kernels call them)
        namespace[helper] = jit(namespace[helper])
    _kernels = types.SimpleNamespace(**{name: jit(namespace[name]) for name in KERNELS})
    return _kernels


# The kernels, as plain Python (numba compiles these). Scalars arrive in the arrays' dtype.
# Elementwise kernels take arrays of any shape and flatten them with ravel(), a view of the
# C-contiguous arrays fits() admits (of any other layout it would be a copy, and the writes
# lost): they are called with the caller's arrays as they are, reshape(-1) costs ~0.2 us each.

def adam(p, d, m, v, c1, c2, beta2, eps_s, step_s):
    """m += (d - m) c1;  v = v β₂ + (d d) c2;  p += (m / (√v + ε')) s  (optim/adam.py's passes)"""
    p, d, m, v = p.ravel(), d.ravel(), m.ravel(), v.ravel()
    for i in range(p.shape[0]):
        mi = m[i] + (d[i] - m[i]) * c1
        m[i] = mi
        vi = v[i] * beta2 + (d[i] * d[i]) * c2
        v[i] = vi
        p[i] = p[i] + (mi / (np.sqrt(vi) + eps_s)) * step_s


def sgd(p, d, step_s):
    """p += d s  (optim/sgd.py's passes without momentum)"""
    p, d = p.ravel(), d.ravel()
    for i in range(p.shape[0]):
        p[i] = p[i] + d[i] * step_s


def sgd_momentum(p, d, b, mu, step_s):
    """b = b μ + d;  p += b s  (optim/sgd.py's passes with momentum, no dampening)"""
    p, d, b = p.ravel(), d.ravel(), b.ravel()
    for i in range(p.shape[0]):
        bi = b[i] * mu + d[i]
        b[i] = bi
        p[i] = p[i] + bi * step_s


def rows_add(out, index, g):
    """out[r] = the sum of the rows g[j] with index[j] = r (negative r counting from the end),
    in np.add.reduceat's order over the rows grouped by a stable sort: the first row plus the
    pairwise sum of the rest (NumPy's, `pairwise_sum`); returns 1 + the position of the first
    index out of range, else 0."""
    n, width = out.shape
    m = index.shape[0]
    count = np.zeros(n + 1, np.int64)
    for j in range(m):
        r = index[j]
        if r < 0:
            r += n
        if r < 0 or r >= n:
            return j + 1
        count[r + 1] += 1
    for r in range(n):
        count[r + 1] += count[r]
    order = np.empty(m, np.int64)  # a counting sort: stable, as argsort(kind="stable")
    fill = count[:n].copy()
    for j in range(m):
        r = index[j] + n if index[j] < 0 else index[j]
        order[fill[r]] = j
        fill[r] += 1
    acc = np.empty((8, width), g.dtype)
    for r in range(n):
        lo, hi = count[r], count[r + 1]
        if hi > lo:
            _pairwise_rows(g, order, lo + 1, hi - lo - 1, acc, out[r])
            for c in range(width):
                out[r, c] = g[order[lo], c] + out[r, c]
    return 0


def _pairwise_rows(g, order, lo, n, acc, res):
    """res = NumPy's pairwise sum of the rows g[order[lo:lo + n]] (its `pairwise_sum`, column
    by column: below 8 terms one by one from -0.0; up to 128 in 8 running sums; beyond, the two
    halves split at a multiple of 8)"""
    width = res.shape[0]
    if n < 8:
        for c in range(width):
            res[c] = -0.0
        for i in range(lo, lo + n):
            for c in range(width):
                res[c] += g[order[i], c]
    elif n <= 128:
        for q in range(8):
            for c in range(width):
                acc[q, c] = g[order[lo + q], c]
        i = 8
        while i < n - n % 8:
            for q in range(8):
                for c in range(width):
                    acc[q, c] += g[order[lo + i + q], c]
            i += 8
        for c in range(width):
            res[c] = ((acc[0, c] + acc[1, c]) + (acc[2, c] + acc[3, c])) + \
                     ((acc[4, c] + acc[5, c]) + (acc[6, c] + acc[7, c]))
        while i < n:
            for c in range(width):
                res[c] += g[order[lo + i], c]
            i += 1
    else:
        half = n // 2
        half -= half % 8
        other = np.empty(width, res.dtype)
        _pairwise_rows(g, order, lo, half, acc, res)
        _pairwise_rows(g, order, lo + half, n - half, acc, other)
        for c in range(width):
            res[c] += other[c]


def ln_centered_squares(x, mean, out):
    """out = (x - mean)²  per row (layer_norm's d * d)"""
    for i in range(x.shape[0]):
        mu = mean[i]
        for j in range(x.shape[1]):
            d = x[i, j] - mu
            out[i, j] = d * d


def ln_affine(x, mean, rstd, w, b, has_w, has_b, out):
    """out = ((x - mean) rstd) w + b  per row (layer_norm's x_hat, scaled and shifted)"""
    for i in range(x.shape[0]):
        mu, r = mean[i], rstd[i]
        for j in range(x.shape[1]):
            y = (x[i, j] - mu) * r
            if has_w:
                y = y * w[j]
            if has_b:
                y = y + b[j]
            out[i, j] = y


def ln_grad_products(x, mean, rstd, g, w, has_w, gy, gy_xhat, g_xhat):
    """gy = g w, gy_xhat = gy x_hat and g_xhat = g x_hat with x_hat = (x - mean) rstd (the
    products layer_norm's backward takes row means and batch sums of; gy and g_xhat only
    with w, gy being g without it)"""
    for i in range(x.shape[0]):
        mu, r = mean[i], rstd[i]
        for j in range(x.shape[1]):
            xhat = (x[i, j] - mu) * r
            if has_w:
                gij = g[i, j] * w[j]
                gy[i, j] = gij
                g_xhat[i, j] = g[i, j] * xhat
            else:
                gij = g[i, j]
            gy_xhat[i, j] = gij * xhat


def ln_grad_input(x, mean, rstd, gy, mean_gy, mean_gy_xhat, out):
    """out = ((gy - mean(gy)) - x_hat mean(gy x_hat)) rstd,  x_hat = (x - mean) rstd
    (layer_norm's gx)"""
    for i in range(x.shape[0]):
        mu, r, m1, m2 = mean[i], rstd[i], mean_gy[i], mean_gy_xhat[i]
        for j in range(x.shape[1]):
            xhat = (x[i, j] - mu) * r
            out[i, j] = ((gy[i, j] - m1) - xhat * m2) * r


def softmax_shift(s, scale, mask, has_mask, floor):
    """s = t - max(max_j t_j, floor) per row, t = s scale (+ mask[i mod L]): the scores of
    attention's softmax, scaled, masked and shifted (a nan making the max nan, as np.maximum)"""
    rows, n = s.shape
    for i in range(rows):
        row, mask_row = s[i], mask[i % mask.shape[0]]
        if has_mask:
            for j in range(n):
                row[j] = row[j] * scale + mask_row[j]
        else:
            for j in range(n):
                row[j] = row[j] * scale
        m = _nan_max(row, n, floor)
        for j in range(n):
            row[j] = row[j] - m


def _nan_max(row, n, m):
    """max(m, row[0], ..., row[n-1]), or a nan of the row if it has one (as np.maximum).

    Two running maxima, even and odd entries, so that each comparison waits on the one two
    back, not the one before (2x faster for attention's rows of 32); a maximum does not
    depend on the order it is taken in, except for the sign of a zero (+0 and -0 tie), which
    the callers' shifted e^(t - max) and loss do not see."""
    m1, nan = m, False
    j = 0
    while j + 1 < n:
        a, b = row[j], row[j + 1]
        m = a if a > m else m
        m1 = b if b > m1 else m1
        nan |= (a != a) | (b != b)
        j += 2
    if j < n:
        a = row[j]
        m = a if a > m else m
        nan |= a != a
    m = m1 if m1 > m else m
    if nan:
        for j in range(n):
            if row[j] != row[j]:
                m = row[j]
    return m


def softmax_divide(e, den, one):
    """e /= max(den, 1) per row (the softmax's normalisation; a fully masked row's den is 0)"""
    for i in range(e.shape[0]):
        d = den[i]
        if d < one:
            d = one
        for j in range(e.shape[1]):
            e[i, j] = e[i, j] / d


def softmax_grad_products(gp, p, out):
    """out = gp p  (the products whose row sums are <gp, p>)"""
    for i in range(gp.shape[0]):
        for j in range(gp.shape[1]):
            out[i, j] = gp[i, j] * p[i, j]


def softmax_grad(gp, p, dot, scale, out):
    """out = ((gp - <gp, p>) p) scale  (attention's gs, scaled)"""
    for i in range(gp.shape[0]):
        r = dot[i]
        for j in range(gp.shape[1]):
            out[i, j] = ((gp[i, j] - r) * p[i, j]) * scale


def relu(x, out, zero):
    """out = max(x, 0) as np.maximum(x, 0) gives it: nan stays nan, -0.0 becomes 0.0"""
    x, out = x.ravel(), out.ravel()
    for i in range(x.shape[0]):
        v = x[i]
        out[i] = v if v > zero or v != v else zero


def relu_grad(g, r, out, one, zero):
    """out = g (r > 0), the mask a factor 1 or 0 in g's dtype, as NumPy multiplies"""
    g, r, out = g.ravel(), r.ravel(), out.ravel()
    for i in range(g.shape[0]):
        out[i] = g[i] * (one if r[i] > zero else zero)


def sigmoid_negate(x, out, limit):
    """out = -x; whether some entry of out exceeds limit (so that e^out overflows)"""
    x, out = x.ravel(), out.ravel()
    big = False
    for i in range(x.shape[0]):
        v = -x[i]
        out[i] = v
        big |= v > limit
    return big


def sigmoid_finish(y, one):
    """y = 1 / (y + 1) in place: sigmoid's passes after e^-x"""
    y = y.ravel()
    for i in range(y.shape[0]):
        y[i] = one / (y[i] + one)


def ce_shift(x, out):
    """out = x - max_j x_j per row (cross-entropy's shifted logits; a nan makes the max nan,
    as np.maximum.reduce)"""
    rows, n = x.shape
    for i in range(rows):
        row = x[i]
        m = _nan_max(row, n, row[0])
        for j in range(n):
            out[i, j] = row[j] - m


def ce_grad(p, labels, one, scale, out):
    """out = (p - onehot(labels)) scale  (cross-entropy's gradient, every label in range)"""
    for i in range(p.shape[0]):
        y = labels[i]
        for j in range(p.shape[1]):
            v = p[i, j]
            if j == y:
                v = v - one
            out[i, j] = v * scale
