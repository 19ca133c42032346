"""Primitives for neural-network layers and losses, where composing existing ops is slower or
unstable: linear (one fused node for x W^T + b), softmax cross-entropy with class labels (one
node instead of seven), the summed squared error of MSE (one instead of four), take/put along
an axis (the class pick of cross-entropy), binary cross-entropy on probabilities (PyTorch's
clamped logs)."""

import numpy as np

from chainrule import _numba
from chainrule.core import mode as _mode
from chainrule.core.backend import defer_check, errstate, xp_of
from chainrule.core.engine import leaf_grad_memory
from chainrule.core.function import Function, Nondifferentiable
from chainrule.core.tensor import Tensor, from_array
from chainrule.ops.compare import OneHot
from chainrule.ops.elementwise import log, log1p, maximum
from chainrule.ops.linalg import MatMul
from chainrule.ops.reduction import BatchSum
from chainrule.ops.shape import Permute
from chainrule.ops.special import softmax

# np.max and np.sum without their Python-level dispatch
_max_reduce, _sum_reduce = np.maximum.reduce, np.add.reduce
_state = _mode.state


class Linear(Function):
    """y = x W^T + b;  dy/dx: g W,  dy/dW: g^T x (summed over batch axes),  dy/db: sum g"""

    __slots__ = ()

    def forward(self, x, W, b=None):
        if x.ndim > 2 and x.flags.c_contiguous:  # (..., in) as one (n, in) GEMM, not a loop
            # into a new (..., out) array, not a reshaped view of the GEMM's (n, out) result: a
            # compiled replay pools only arrays that own their memory
            out = xp_of(x).empty(x.shape[:-1] + W.shape[:1], np.result_type(x.dtype, W.dtype))
            return self.forward_into(out, x, W, b)
        y = np.matmul(x, W.T)  # W.T is a view: BLAS reads it transposed, no copy
        if b is not None:
            y += b
        return y

    def forward_into(self, out, x, W, b=None):
        """forward, written into out (the result's shape and dtype; not x, W or b)."""
        if x.ndim > 2 and x.flags.c_contiguous:  # the same single GEMM as forward: same bits
            np.matmul(x.reshape(-1, x.shape[-1]), W.T, out=out.reshape(-1, W.shape[0]))
        else:
            np.matmul(x, W.T, out=out)
        if b is not None:
            out += b
        return out

    def vjp(self, g):
        x, W = self.inputs[0], self.inputs[1]
        if x.ndim == 2:  # the common case, with the primitives called directly (the shapes
            # are known to fit, so the public functions' checks would only cost time)
            gx = MatMul()(g, W) if x.requires_grad else None
            gW = None
            if W.requires_grad:
                out = leaf_grad_memory(W)
                same = out is not None and g.dtype == x.dtype == out.dtype
                gW = (MatMulInto(out) if same else MatMul())(Permute((1, 0))(g), x)
            # the batch sum the engine's unbroadcast would do, without its shape analysis
            gb = BatchSum()(g) if len(self.inputs) == 3 and self.inputs[2].requires_grad \
                else None
            return (gx, gW) if len(self.inputs) == 2 else (gx, gW, gb)
        gW = gb = None
        if x.ndim > 2:  # batch axes flattened: one GEMM each, and the bias sum in one reduce
            g2 = g.reshape(-1, g.shape[-1])
            gx = (g2 @ W).reshape(x.shape) if x.requires_grad else None
            if W.requires_grad:
                gW = Permute((1, 0))(g2) @ x.reshape(-1, x.shape[-1])
            if len(self.inputs) == 3 and self.inputs[2].requires_grad:
                gb = BatchSum()(g2)
            return (gx, gW) if len(self.inputs) == 2 else (gx, gW, gb)
        gx = g @ W if x.requires_grad else None
        if W.requires_grad:
            gW = g.reshape(-1, 1) @ x.reshape(1, -1)
        if len(self.inputs) == 3 and self.inputs[2].requires_grad:
            gb = g  # the engine sums it over the batch axes down to b's shape
        return (gx, gW) if len(self.inputs) == 2 else (gx, gW, gb)


class MatMulInto(MatMul):
    """MatMul writing its product into a given array: memory a leaf's grad sink offers
    (engine.leaf_grad_memory).

    Only called with grad mode off (inside backward()), so never recorded; the math is
    MatMul's, the memory is where the gradient has to end up anyway.
    """

    __slots__ = ("out",)

    def __init__(self, out):
        self.out = out

    def forward(self, a, b):
        return np.matmul(a, b, out=self.out)


class SoftmaxCrossEntropy(Function):
    """l = -sum_n k_n log p_n[y_n] / den, p_n = softmax(x_n), k_n = [y_n != ignore_index],
    den = sum_n k_n for the mean (1 for the sum);  dl/dx_n = k_n (p_n - onehot(y_n)) / den

    Inputs: x, (N, C) logits, and y, N integer labels in [0, C) or equal to ignore_index (an
    input, not a parameter, so a compiled step replays it with each batch's labels; its forward
    checks their range). Outputs: the loss and p, the probabilities its forward computes on the
    way (softmax_cross_entropy keeps p alive with the loss), so backward does not compute the
    softmax again. The vjp is written with p, an output of this node whose own vjp is the
    softmax's, so second derivatives (Hessian-vector products of a classifier's loss) work.
    """

    __slots__ = ("mean", "ignore_index")
    returns_fresh = True  # forward's results are new arrays, never views of an input
    checks_values = True  # forward raises on bad values: a replay never drops it

    def __init__(self, mean, ignore_index=-100):
        self.mean, self.ignore_index = mean, ignore_index

    def forward(self, x, labels):
        if type(x) is not np.ndarray:
            return self._forward_device(x, labels)
        n, classes = x.shape
        kernels = _numba.get()
        if kernels is not None and n and classes and _numba.fits(x):  # one pass, the same bits
            p = np.empty_like(x)
            kernels.ce_shift(x, p)
        else:
            p = x - _max_reduce(x, 1, None, None, True)  # shifted: exp cannot overflow
        if _all_classes(labels, classes):  # the common case: nothing ignored
            picked = p.reshape(-1).take(_flat_positions(n, classes, labels))
            np.exp(p, out=p)
            total = _sum_reduce(p, 1, None, None, True)
            loss = (_sum_reduce(np.log(total[:, 0]), None) - _sum_reduce(picked, None)) \
                / (n if self.mean else 1)
            p /= total  # softmax(x), as Softmax computes it (the same passes)
            return np.asarray(loss, x.dtype), p
        kept = _kept_labels("cross_entropy", labels, classes, self.ignore_index)
        picked = p[np.arange(n), np.where(kept, labels, 0)]
        np.exp(p, out=p)
        total = _sum_reduce(p, 1, None, None, True)
        lse = np.log(total[:, 0])
        den = kept.sum() if self.mean else 1
        p /= total
        with np.errstate(invalid="ignore", divide="ignore"):  # all ignored: 0/0, as torch
            return np.asarray(((lse - picked) * kept).sum() / den, x.dtype), p

    def _forward_device(self, x, labels):
        """The same loss without reading a value back: the label check is deferred."""
        xp = xp_of(x)
        n, classes = x.shape
        kept = labels != self.ignore_index
        inside = (labels >= 0) & (labels < classes)
        defer_check((kept & ~inside).any(), _range_message("cross_entropy", classes,
                                                          self.ignore_index))
        shifted = x - x.max(axis=1, keepdims=True)
        picked = shifted[xp.arange(n), xp.where(kept & inside, labels, 0)]
        p = xp.exp(shifted)
        total = p.sum(axis=1, keepdims=True)
        lse = xp.log(total[:, 0])
        p /= total
        loss = ((lse - picked) * kept).sum()
        den = kept.sum() if self.mean else 1
        with errstate(x, invalid="ignore", divide="ignore"):  # all ignored: 0/0, as torch
            return (loss / den).astype(x.dtype), p

    def vjp(self, gs):
        g, gp = gs
        x, labels = self.inputs
        p = self.outputs[1]
        if p is None:  # (the loss was dropped and p with it: computed again)
            p = softmax(x, 1)
        gx = None
        if g is not None:
            if not _state.grad_enabled:
                gx = SoftmaxCrossEntropyGrad(self.mean, self.ignore_index)(p, labels, g)
            else:  # create_graph: in chainrule ops, differentiable through p
                w = KeptShare(self.mean, self.ignore_index, x.dtype)(labels)
                onehot = OneHot(x.shape[1], x.dtype, self.ignore_index)(labels)
                gx = (p - onehot) * (w * g)
        if gp is not None:  # a gradient reached p itself (second derivatives): softmax's vjp
            gpx = p * (gp - (gp * p).sum(1, keepdim=True))
            gx = gpx if gx is None else gx + gpx
        return gx, None


class SoftmaxCrossEntropyGrad(Nondifferentiable):
    """gx_n = k_n (p_n - onehot(y_n)) g / den: SoftmaxCrossEntropy's first-order backward in
    a few NumPy passes over p (the create_graph path writes the same formula in chainrule ops,
    with KeptShare and OneHot, and gets the same numbers)"""

    __slots__ = ("mean", "ignore_index")

    def __init__(self, mean, ignore_index):
        self.mean, self.ignore_index = mean, ignore_index

    def forward(self, p, labels, g):
        n, classes = p.shape
        if type(p) is np.ndarray and n:  # on the host, where reading the labels is free
            if _all_classes(labels, classes):  # nothing ignored: one factor
                one = p.dtype.type(1)
                share = one / p.dtype.type(n) if self.mean else one  # (in p's dtype)
                kernels = _numba.get()
                if kernels is not None and np.ndim(g) == 0 and g.dtype == p.dtype and \
                        _numba.fits(p) and labels.ndim == 1:  # numba: one pass, the same bits
                    gx = np.empty_like(p)
                    kernels.ce_grad(p, labels.astype(np.int64, copy=False), one,
                                    p.dtype.type(share * g), gx)
                    return gx
                gx = p.copy()
                gx.reshape(-1)[_flat_positions(n, classes, labels)] -= one
                gx *= share * g  # (share * g, as the column w * g holds it)
                return gx
        share = KeptShare(self.mean, self.ignore_index, p.dtype).forward(labels)
        gx = p - OneHot(classes, p.dtype, self.ignore_index).forward(labels)
        gx *= share * g
        return gx


def _all_classes(labels, classes):
    """Whether every label lies in [0, classes): one reduction checks both ends, as a negative
    label is huge as an unsigned integer."""
    unsigned = labels.view(np.uint64) if labels.dtype == np.int64 else \
        labels.astype(np.int64).view(np.uint64)
    return _max_reduce(unsigned, axis=None) < classes


def _flat_positions(n, classes, labels):
    """The positions of x[i, labels[i]] in an (n, classes) C-contiguous x, flattened (take
    and put with them are cheaper than indexing with two index arrays; labels as int64, since
    uint64 plus int64 is float64)."""
    return np.arange(0, n * classes, classes) + labels.astype(np.int64, copy=False)


def _range_message(op, classes, ignore_index):
    return (f"{op}: a class label is out of range for {classes} classes (labels must be in "
            f"[0, {classes - 1}], or equal ignore_index={ignore_index} to be ignored)")


def _kept_labels(op, labels, classes, ignore_index):
    """labels != ignore_index, after checking that every other label lies in [0, classes)."""
    kept = labels != ignore_index
    bad = kept & ((labels < 0) | (labels >= classes))
    if bad.any():
        raise ValueError(f"{op}: class label {labels[bad].flat[0]} is out of range for "
                         f"{classes} classes (labels must be in [0, {classes - 1}], or equal "
                         f"ignore_index={ignore_index} to be ignored)")
    return kept


class KeptShare(Nondifferentiable):
    """w_n = k_n / sum_m k_m (mean) or k_n (sum), k_n = [y_n != ignore_index]: an (N, 1) column
    of dtype, each sample's share of the cross-entropy's gradient"""

    __slots__ = ("mean", "ignore_index", "dtype")

    def __init__(self, mean, ignore_index, dtype):
        self.mean, self.ignore_index, self.dtype = mean, ignore_index, dtype

    def forward(self, labels):
        kept = (labels != self.ignore_index).astype(self.dtype).reshape(-1, 1)
        if self.mean:
            with errstate(labels, invalid="ignore", divide="ignore"):
                kept /= kept.sum()
        return kept


class SquaredError(Function):
    """l = sum_i (x_i - y_i)^2 / den  (den = n for the mean, 1 for the sum);
    dl/dx = 2 (x - y) / den,  dl/dy = -dl/dx"""

    __slots__ = ("den",)
    returns_fresh = True  # forward's result is a new array, never a view of an input

    def __init__(self, den):
        self.den = den

    def forward(self, x, y):
        d = x - y
        r = np.vdot(d, d) / self.den
        return np.asarray(r, d.dtype) if type(d) is np.ndarray else r.astype(d.dtype)

    def vjp(self, g):
        x, y = self.inputs
        gx = (x - y) * (g * (2 / self.den))
        return gx, (-gx if y.requires_grad else None)


class CheckIndex(Nondifferentiable):
    """y = index, after checking that every entry lies in [0, n) (embedding's rows; a compiled
    call checks every new batch too)"""

    __slots__ = ("op", "n")
    checks_values = True  # forward raises on bad values: a replay never drops it

    def __init__(self, op, n):
        self.op, self.n = op, n

    def forward(self, index):
        if index.size and (index.min() < 0 or index.max() >= self.n):
            bad = index[(index < 0) | (index >= self.n)].flat[0]
            raise ValueError(f"{self.op}: index {bad} is out of range for {self.n} embeddings")
        return index


class CheckLabels(Nondifferentiable):
    """y = labels, after checking that each lies in [0, classes) or equals ignore_index (a
    replay of a compiled step checks every new batch too)"""

    __slots__ = ("op", "classes", "ignore_index")
    checks_values = True  # forward raises on bad values: a replay never drops it

    def __init__(self, op, classes, ignore_index):
        self.op, self.classes, self.ignore_index = op, classes, ignore_index

    def forward(self, labels):
        if type(labels) is not np.ndarray:  # checked at the next read; bad labels read as 0
            kept = labels != self.ignore_index if self.ignore_index is not None else True
            bad = kept & ((labels < 0) | (labels >= self.classes))
            defer_check(bad.any(), _range_message(self.op, self.classes, self.ignore_index))
            return xp_of(labels).where(bad, 0, labels)
        if labels.size and (labels.min() < 0 or labels.max() >= self.classes):
            bad = (labels < 0) | (labels >= self.classes)
            bad &= labels != self.ignore_index
            if bad.any():
                ignore = "" if self.ignore_index is None else \
                    f", or equal ignore_index={self.ignore_index} to be ignored"
                raise ValueError(f"{self.op}: class label {labels[bad].flat[0]} is out of "
                                 f"range for {self.classes} classes (labels must be in "
                                 f"[0, {self.classes - 1}]{ignore})")
        return labels


class BinaryCrossEntropy(Function):
    """l = -(y max(log x, -100) + (1 - y) max(log(1 - x), -100));
    dl/dx = (x - y) / max(x (1 - x), 1e-12),  dl/dy = log(1 - x) - log x  (as PyTorch)"""

    __slots__ = ()
    checks_values = True  # forward raises on bad values: a replay never drops it

    def forward(self, x, y):
        # checked here, in the op, so that a compiled call checks every new batch too
        if x.size and not (x.min() >= 0 and x.max() <= 1):
            raise ValueError(f"binary_cross_entropy: input must hold probabilities in [0, 1]; "
                             f"got values from {x.min()} to {x.max()} (for logits use "
                             "binary_cross_entropy_with_logits)")
        if y.size and not (y.min() >= 0 and y.max() <= 1):
            raise ValueError(f"binary_cross_entropy: target must be in [0, 1]; got values from "
                             f"{y.min()} to {y.max()}")
        # the clamp keeps the loss finite at x = 0 or 1, where sigmoid saturates in float32
        with np.errstate(divide="ignore"):
            log_x = np.maximum(np.log(x), -100)
            log_1mx = np.maximum(np.log1p(-x), -100)
        return (y - 1) * log_1mx - y * log_x

    def vjp(self, g):
        x, y = self.inputs
        gx = gy = None
        if x.requires_grad:
            gx = g * (x - y) / maximum(x * (1 - x), 1e-12)
        if y.requires_grad:
            gy = g * (log1p(-x) - log(x))
        return gx, gy


def softmax_cross_entropy(x, labels, reduction="mean", ignore_index=-100):
    """Cross-entropy of (N, C) logits with N class labels (an integer Tensor or array; those
    equal to ignore_index are left out), reduced by mean (over the kept labels) or sum."""
    labels = labels if isinstance(labels, Tensor) else from_array(labels)
    loss, p = SoftmaxCrossEntropy(reduction == "mean", ignore_index)(x, labels)
    if p.grad_fn is not None:  # p lives as long as the loss: backward reads it
        loss._extra = {"keep": p}
    return loss


def squared_error(x, y, reduction="mean"):
    """sum (x - y)^2, or its mean: one graph node (x and y floating, of one shape, not empty)."""
    return SquaredError(x.numel() if reduction == "mean" else 1)(x, y)


def linear(x, W, b=None):
    """x W^T + b as one graph node (shapes are checked by the caller)."""
    return Linear()(x, W) if b is None else Linear()(x, W, b)


def check_labels(op, labels, classes, ignore_index):
    """labels (a Tensor), checked to lie in [0, classes) or equal ignore_index (op: for errors)."""
    return CheckLabels(op, classes, ignore_index)(labels)


def binary_cross_entropy(x, y):
    """Elementwise -(y log x + (1 - y) log(1 - x)) with logs clamped at -100."""
    return BinaryCrossEntropy()(x, y)
