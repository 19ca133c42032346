"""Primitives for neural-network layers and losses, where composing existing ops is slower or
unstable: linear (one fused node for x W^T + b), softmax cross-entropy with class labels (one
node instead of seven), the summed squared error of MSE (one instead of four), take/put along
an axis (the class pick of cross-entropy), binary cross-entropy on probabilities (PyTorch's
clamped logs)."""

import numpy as np

from chainrule.core.engine import grad_sink
from chainrule.core.function import Function, Nondifferentiable
from chainrule.core.tensor import Tensor, make
from chainrule.ops.compare import OneHot
from chainrule.ops.elementwise import log, log1p, maximum
from chainrule.ops.linalg import MatMul
from chainrule.ops.reduction import Sum
from chainrule.ops.shape import Permute
from chainrule.ops.special import softmax

_max_reduce = np.maximum.reduce  # np.max without its Python-level dispatch


class Linear(Function):
    """y = x W^T + b;  dy/dx: g W,  dy/dW: g^T x (summed over batch axes),  dy/db: sum g"""

    __slots__ = ()

    def forward(self, x, W, b=None):
        y = np.matmul(x, W.T)  # W.T is a view: BLAS reads it transposed, no copy
        if b is not None:
            y += b
        return y

    def vjp(self, g):
        x, W = self.inputs[0], self.inputs[1]
        if x.ndim == 2:  # the common case, with the primitives called directly (the shapes
            # are known to fit, so the public functions' checks would only cost time)
            gx = MatMul()(g, W) if x.requires_grad else None
            gW = None
            if W.requires_grad:
                out = grad_sink(W)
                same = out is not None and g.dtype == x.dtype == out.dtype
                gW = (MatMulInto(out) if same else MatMul())(Permute((1, 0))(g), x)
            # the batch sum the engine's unbroadcast would do, without its shape analysis
            gb = Sum((0,), False)(g) if len(self.inputs) == 3 and self.inputs[2].requires_grad \
                else None
            return (gx, gW) if len(self.inputs) == 2 else (gx, gW, gb)
        gx = g @ W if x.requires_grad else None
        gW = gb = None
        if W.requires_grad:
            if x.ndim == 1:
                gW = g.reshape(-1, 1) @ x.reshape(1, -1)
            else:
                gW = g.reshape(-1, g.shape[-1]).mT @ x.reshape(-1, x.shape[-1])
        if len(self.inputs) == 3 and self.inputs[2].requires_grad:
            gb = g  # the engine sums it over the batch axes down to b's shape
        return (gx, gW) if len(self.inputs) == 2 else (gx, gW, gb)


class MatMulInto(MatMul):
    """MatMul writing its product into a given array: a leaf's gradient buffer (grad_sink).

    Only called with grad mode off (inside backward()), so never recorded; the math is
    MatMul's, the memory is where the gradient has to end up anyway.
    """

    __slots__ = ("out",)

    def __init__(self, out):
        self.out = out

    def forward(self, a, b):
        return np.matmul(a, b, out=self.out)


class SoftmaxCrossEntropy(Function):
    """l = -sum_n log softmax(x_n)[y_n] / den  (den = N for the mean, 1 for the sum);
    dl/dx = (softmax(x) - onehot(y)) / den

    Inputs: x, (N, C) logits, and y, N integer labels in [0, C) (an input, not a parameter, so
    a compiled step replays it with each batch's labels; its forward checks their range). The
    vjp is written with softmax, so second derivatives (Hessian-vector products of a
    classifier's loss) work.
    """

    __slots__ = ("den", "ignore_index")

    def __init__(self, den, ignore_index=-100):
        self.den, self.ignore_index = den, ignore_index  # (for the message: none is present)

    def forward(self, x, labels):
        n, classes = x.shape
        # one reduction checks both ends: a negative label is huge as an unsigned integer
        unsigned = labels.view(np.uint64) if labels.dtype == np.int64 else \
            labels.astype(np.int64).view(np.uint64)
        if _max_reduce(unsigned, axis=None) >= classes:
            bad = labels[(labels < 0) | (labels >= classes)][0]
            raise ValueError(f"cross_entropy: class label {bad} is out of range for {classes} "
                             f"classes (labels must be in [0, {classes - 1}], or "
                             f"ignore_index={self.ignore_index})")
        # log softmax(x)_y = (x_y - m) - log sum e^(x - m), m = max: exp cannot overflow
        shifted = x - x.max(axis=1, keepdims=True)
        picked = shifted[np.arange(n), labels]
        np.exp(shifted, out=shifted)
        lse = np.log(shifted.sum(axis=1))
        return np.asarray((lse.sum() - picked.sum()) / self.den, dtype=x.dtype)

    def vjp(self, g):
        x, labels = self.inputs
        onehot = OneHot(x.shape[1], x.dtype)(labels)
        return (softmax(x, 1) - onehot) * (g / self.den), None


class SquaredError(Function):
    """l = sum_i (x_i - y_i)^2 / den  (den = n for the mean, 1 for the sum);
    dl/dx = 2 (x - y) / den,  dl/dy = -dl/dx"""

    __slots__ = ("den",)

    def __init__(self, den):
        self.den = den

    def forward(self, x, y):
        d = x - y
        return np.asarray(np.vdot(d, d) / self.den, dtype=d.dtype)

    def vjp(self, g):
        x, y = self.inputs
        gx = (x - y) * (g * (2 / self.den))
        return gx, (-gx if y.requires_grad else None)


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
        y = np.zeros(self.shape, dtype=g.dtype)
        np.put_along_axis(y, index, g, self.axis)  # one index per slot: no collisions
        return y

    def vjp(self, g):
        return TakeAlongAxis(self.axis)(g, self.inputs[1]), None


class CheckLabels(Nondifferentiable):
    """y = labels, after checking that each lies in [0, classes) or equals ignore_index (a
    replay of a compiled step checks every new batch too)"""

    __slots__ = ("op", "classes", "ignore_index")

    def __init__(self, op, classes, ignore_index):
        self.op, self.classes, self.ignore_index = op, classes, ignore_index

    def forward(self, labels):
        if labels.size and (labels.min() < 0 or labels.max() >= self.classes):
            bad = (labels < 0) | (labels >= self.classes)
            bad &= labels != self.ignore_index
            if bad.any():
                raise ValueError(f"{self.op}: class label {labels[bad].flat[0]} is out of "
                                 f"range for {self.classes} classes (labels must be in "
                                 f"[0, {self.classes - 1}], or ignore_index="
                                 f"{self.ignore_index})")
        return labels


class BinaryCrossEntropy(Function):
    """l = -(y max(log x, -100) + (1 - y) max(log(1 - x), -100));
    dl/dx = (x - y) / max(x (1 - x), 1e-12),  dl/dy = log(1 - x) - log x  (as PyTorch)"""

    __slots__ = ()

    def forward(self, x, y):
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


def take_along_axis(x, index, axis):
    """x picked at `index` (integers, length 1 along `axis`; a Tensor or array), differentiable."""
    return TakeAlongAxis(axis)(x, index if isinstance(index, Tensor) else make(index))


def softmax_cross_entropy(x, labels, reduction="mean", ignore_index=-100):
    """Cross-entropy of (N, C) logits with N valid class labels (an integer Tensor or array;
    none equal to ignore_index), reduced by mean or sum."""
    labels = labels if isinstance(labels, Tensor) else make(labels)
    den = len(labels) if reduction == "mean" else 1
    return SoftmaxCrossEntropy(den, ignore_index)(x, labels)


def squared_error(x, y, reduction="mean"):
    """sum (x - y)^2, or its mean: one graph node (x and y floating, of one shape, not empty)."""
    return SquaredError(x.size if reduction == "mean" else 1)(x, y)


def linear(x, W, b=None):
    """x W^T + b as one graph node (shapes are checked by the caller)."""
    return Linear()(x, W) if b is None else Linear()(x, W, b)


def check_labels(op, labels, classes, ignore_index):
    """labels (a Tensor), checked to lie in [0, classes) or equal ignore_index (op: for errors)."""
    return CheckLabels(op, classes, ignore_index)(labels)


def binary_cross_entropy(x, y):
    """Elementwise -(y log x + (1 - y) log(1 - x)) with logs clamped at -100."""
    return BinaryCrossEntropy()(x, y)
