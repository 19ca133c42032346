"""Loss functions with PyTorch's definitions, defaults and argument names, in stable forms.

Each takes `reduction` = 'mean' (default) | 'sum' | 'none'. Targets may be Tensors or NumPy
arrays; floating targets take the input's dtype. Unlike PyTorch, which warns and broadcasts,
an elementwise loss whose target shape differs from the input's raises a ValueError.
"""

import numpy as np

from chainrule import ops as _ops
from chainrule.core.backend import to_host, to_like, xp_of
from chainrule.core.tensor import Tensor, from_array
from chainrule.ops import nn_ops as _nn_ops
from chainrule.ops.arithmetic import const, to_tensor

_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(op, reduction, allowed=_REDUCTIONS):
    if reduction not in allowed:
        names = ", ".join(repr(r) for r in allowed)
        raise ValueError(f"{op}: reduction must be one of {names}; got {reduction!r}")


def _reduce(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss


def _pair(op, input, target, reduction):
    """(input, target) as Tensors of the same shape; a float target takes input's dtype."""
    _check_reduction(op, reduction)
    input = to_tensor(input)
    target = to_tensor(target, like=input)
    if target.dtype != input.dtype and input.dtype.kind == "f":
        target = target.astype(input.dtype)
    if target.shape != input.shape:
        raise ValueError(f"{op}: target shape {target.shape} differs from input shape "
                         f"{input.shape}; reshape one of them (no silent broadcasting)")
    return input, target


def mse_loss(input, target, reduction="mean"):
    """Mean squared error: l = (x - y)^2;  dl/dx = 2 (x - y)."""
    input, target = _pair("mse_loss", input, target, reduction)
    if reduction != "none" and input.size and input.dtype.kind == "f":
        return _nn_ops.squared_error(input, target, reduction)  # one graph node
    d = input - target
    return _reduce(d * d, reduction)


def l1_loss(input, target, reduction="mean"):
    """Mean absolute error: l = |x - y|;  dl/dx = sign(x - y) (0 at x = y)."""
    input, target = _pair("l1_loss", input, target, reduction)
    return _reduce((input - target).abs(), reduction)


def huber_loss(input, target, reduction="mean", delta=1.0):
    """l = d^2 / 2 if |d| < delta else delta (|d| - delta/2), d = x - y."""
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive; got {delta}")
    input, target = _pair("huber_loss", input, target, reduction)
    d = input - target
    a = d.abs()
    small = a < delta  # (an op: a compiled call replays the branch choice)
    return _reduce(_ops.where(small, 0.5 * d * d, delta * (a - 0.5 * delta)), reduction)


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    """l = d^2 / (2 beta) if |d| < beta else |d| - beta/2, d = x - y (beta = 0: L1)."""
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative; got {beta}")
    input, target = _pair("smooth_l1_loss", input, target, reduction)
    d = input - target
    a = d.abs()
    if beta == 0:
        return _reduce(a, reduction)
    small = a < beta
    return _reduce(_ops.where(small, (0.5 / beta) * d * d, a - 0.5 * beta), reduction)


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """l = -w (y log x + (1 - y) log(1 - x)) for probabilities x; each log clamped at -100."""
    input, target = _pair("binary_cross_entropy", input, target, reduction)
    loss = _nn_ops.binary_cross_entropy(input, target)  # (its forward checks both ranges)
    if weight is not None:
        loss = loss * _weight("binary_cross_entropy", weight, input, "weight")
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean",
                                     pos_weight=None):
    """l = -w [p y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))]
         = w [(1 - y) x + (1 + (p - 1) y) softplus(-x)]  (stable for any x; p = pos_weight)."""
    input, target = _pair("binary_cross_entropy_with_logits", input, target, reduction)
    sp = _ops.softplus(-input)
    if pos_weight is None:
        loss = (1 - target) * input + sp
    else:
        p = _weight("binary_cross_entropy_with_logits", pos_weight, input, "pos_weight")
        loss = (1 - target) * input + ((p - 1) * target + 1) * sp
    if weight is not None:
        loss = loss * _weight("binary_cross_entropy_with_logits", weight, input, "weight")
    return _reduce(loss, reduction)


def _weight(op, w, input, name):
    w = to_tensor(w, like=input)
    if w.dtype != input.dtype:
        w = w.astype(input.dtype)
    try:
        np.broadcast_shapes(w.shape, input.shape)
    except ValueError:
        raise ValueError(f"{op}: {name} of shape {w.shape} cannot be broadcast to the input's "
                         f"shape {input.shape}") from None
    return w


def _class_setup(op, input, weight, reduction, allowed=_REDUCTIONS):
    """(input, class axis, number of classes C, weight ndarray of shape (C,) or None)."""
    _check_reduction(op, reduction, allowed)
    input = to_tensor(input)
    if input.ndim == 0:
        raise ValueError(f"{op}: input must have a class axis: (C,), (N, C) or (N, C, d1, ...); "
                         "got a 0-d tensor")
    axis = 0 if input.ndim == 1 else 1
    C = input.shape[axis]
    if weight is not None:
        weight = weight._data if isinstance(weight, Tensor) else np.asarray(weight)
        if weight.shape != (C,):
            raise ValueError(f"{op}: weight must have one entry per class, shape ({C},); got "
                             f"{weight.shape}")
        weight = weight.astype(input.dtype, copy=False)
        if type(weight) is not type(input._data):  # class weights on the input's device
            weight = to_like(to_host(weight), input._data)
    return input, axis, C, weight


def _labels(op, target, input, axis):
    """The integer class labels as an ndarray, checked for dtype and shape (their range is
    checked by the ops that read them, at every call: CheckLabels, SoftmaxCrossEntropy)."""
    t = target._data if isinstance(target, Tensor) else np.asarray(target)
    C = input.shape[axis]
    if t.dtype.kind not in "iu":
        example = f" (e.g. {t.flat[0].item()!r})" if t.size else ""
        raise TypeError(f"{op}: class labels must be integers; got dtype {t.dtype}{example} "
                        f"for {C} classes. Class probabilities need a float target of the "
                        f"input's shape {input.shape}")
    expected = input.shape[:axis] + input.shape[axis + 1:]
    if t.shape != expected:
        raise ValueError(f"{op}: target shape {t.shape} does not match input shape "
                         f"{input.shape} without its class axis {axis}; expected {expected}")
    return t


def _nll(op, logp, labels, axis, weight, ignore_index, reduction):
    """-w_y log p_y per sample (0 where ignored), reduced as PyTorch's nll_loss.

    Written with ops on the labels (a Tensor), so a compiled step replays it with new labels.
    """
    labels = _nn_ops.check_labels(op, labels, logp.shape[axis], ignore_index)
    if type(labels._data) is not type(logp._data):  # host labels join a device's input (an op:
        labels = labels.to(logp.device)  # a compiled step replays the copy with new labels)
    zero = to_tensor(0, logp)
    ignored = labels == ignore_index
    safe = _ops.where(ignored, to_tensor(0, labels), labels)
    loss = -_ops.take_along_dim(logp, safe.unsqueeze(axis), axis).reshape(labels.shape)
    if weight is not None:
        loss = loss * from_array(weight)[safe]
    loss = _ops.where(ignored, zero, loss)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    # mean: the weighted mean, divided by the total weight of the counted samples (PyTorch)
    return loss.sum() / _kept_weight(labels, ignored, weight, logp.dtype)


def _kept_weight(labels, ignored, weight, dtype):
    """sum_n w_{y_n} over the samples that are not ignored (their count without weights)."""
    w = from_array(weight)[_ops.where(ignored, to_tensor(0, labels), labels)] \
        if weight is not None else from_array(xp_of(labels._data).ones(labels.shape, dtype=dtype))
    return _ops.where(ignored, to_tensor(0, w), w).sum()


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of log-probabilities: l_n = -w_{y_n} input[n, y_n];
    'mean' divides by sum_n w_{y_n} over samples whose label is not ignore_index."""
    input, axis, _, weight = _class_setup("nll_loss", input, weight, reduction)
    labels = _labels("nll_loss", target, input, axis)
    labels = target if isinstance(target, Tensor) else from_array(labels)
    return _nll("nll_loss", input, labels, axis, weight, ignore_index, reduction)


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    """Cross-entropy of logits (N, C) or (N, C, d1, ...): l_n = -sum_c w_c q_{n,c} log p_{n,c},
    p = softmax(x) over the class axis, q = one-hot labels (or given class probabilities)
    mixed with the uniform distribution: q = (1 - eps) q + eps / C.

    With integer targets and 'mean', the result is divided by sum_n w_{y_n} (ignored samples
    excluded), exactly as PyTorch; with probability targets by the number of samples.
    """
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1]; got "
                         f"{label_smoothing}")
    input, axis, C, weight = _class_setup("cross_entropy", input, weight, reduction)
    raw = target._data if isinstance(target, Tensor) else np.asarray(target)
    wshape = (C,) + (1,) * (input.ndim - axis - 1)
    if raw.dtype.kind == "f" and raw.shape == input.shape:
        logp = _ops.log_softmax(input, axis)
        q = to_tensor(target, like=input)
        if q.dtype != input.dtype:
            q = q.astype(input.dtype)
        if label_smoothing > 0:
            q = q * (1 - label_smoothing) + label_smoothing / C
        prod = logp * q
        if weight is not None:
            prod = prod * from_array(weight.reshape(wshape))
        if reduction == "none":
            return -prod.sum(axis)
        total = -prod.sum()
        return total if reduction == "sum" else total / (input.numel() // C if C else 0)
    labels = _labels("cross_entropy", target, input, axis)
    fused = input.ndim == 2 and weight is None and label_smoothing == 0 and \
        reduction != "none" and labels.size
    labels = target if isinstance(target, Tensor) else const(labels, input)  # the caller's array
    if fused:  # the common classifier loss: one graph node (same value and derivatives)
        return _nn_ops.softmax_cross_entropy(input, labels, reduction, ignore_index)
    logp = _ops.log_softmax(input, axis)
    nll = _nll("cross_entropy", logp, labels, axis, weight, ignore_index, reduction)
    if label_smoothing == 0:
        return nll
    # PyTorch: (1 - eps) nll + eps / C * smooth, smooth_n = -sum_c w_c log p_{n,c}
    smooth = -(logp * from_array(weight.reshape(wshape)) if weight is not None else logp).sum(axis)
    ignored = labels == ignore_index
    zero = to_tensor(0, logp)
    smooth = _ops.where(ignored, zero, smooth)
    if reduction == "sum":
        smooth = smooth.sum()
    elif reduction == "mean":
        smooth = smooth.sum() / _kept_weight(labels, ignored, weight, logp.dtype)
    return (1 - label_smoothing) * nll + (label_smoothing / C) * smooth


def kl_div(input, target, reduction="mean", log_target=False):
    """KL(target || model) pointwise with input = log q: l = y (log y - input), 0 where y = 0;
    log_target=True takes log y: l = e^(log y) (log y - input).

    'batchmean' divides the sum by the batch size (the true KL per sample); 'mean' divides by
    the number of elements, as PyTorch does.
    """
    _check_reduction("kl_div", reduction, _REDUCTIONS + ("batchmean",))
    input, target = _pair("kl_div", input, target, "none")
    if log_target:
        loss = target.exp() * (target - input)
    else:
        positive = target > 0
        # y log y with log of 1 where y = 0, so neither the value nor its gradient is NaN
        safe = _ops.where(positive, target, to_tensor(1, target))
        loss = target * safe.log() - target * input
    if reduction == "batchmean":
        return loss.sum() / (input.shape[0] if input.ndim else 1)
    return _reduce(loss, reduction)


def _gaussian_var(input, var):
    """var as a Tensor that broadcasts against input as PyTorch allows: input's shape, input's
    shape without its last axis (unsqueezed), or input's shape with one axis of size 1."""
    if isinstance(var, (int, float)) and not isinstance(var, bool):
        if var < 0:
            raise ValueError(f"gaussian_nll_loss: var must be non-negative; got {var}")
        return from_array(xp_of(input._data).full(input.shape, var, dtype=input.dtype))
    var = to_tensor(var, like=input)
    if var.dtype != input.dtype:
        var = var.astype(input.dtype)
    if var.size and float(var._data.min()) < 0:
        raise ValueError(f"gaussian_nll_loss: var has negative entries (min "
                         f"{float(var._data.min())}); a variance must be non-negative")
    vs, xs = tuple(var.shape), tuple(input.shape)
    if vs == xs:
        return var
    if xs[:-1] == vs:
        return var.unsqueeze(-1)
    differ = [i for i in range(len(xs)) if len(vs) == len(xs) and vs[i] != xs[i]]
    if len(vs) == len(xs) and len(differ) == 1 and vs[differ[0]] == 1:
        return var
    raise ValueError(f"gaussian_nll_loss: var of shape {vs} does not fit input of shape {xs}: "
                     f"it must be {xs}, {xs[:-1]}, or {xs} with one axis of size 1")


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """l = (log max(var, eps) + (x - y)^2 / max(var, eps)) / 2 (+ log(2 pi) / 2 if full);
    dl/dx = (x - y) / v, dl/dvar = (1 / v - (x - y)^2 / v^2) / 2 (the clamp passes the
    gradient through unchanged, as PyTorch's no-grad clamp)."""
    input, target = _pair("gaussian_nll_loss", input, target, reduction)
    var = _gaussian_var(input, var)
    floor = to_tensor(eps, var)
    var = var + (_ops.maximum(var.detach(), floor) - var.detach())  # value clamped, gradient 1
    d = input - target
    loss = 0.5 * (var.log() + d * d / var)
    if full:
        loss = loss + 0.5 * float(np.log(2 * np.pi))
    return _reduce(loss, reduction)


def poisson_nll_loss(input, target, log_input=True, full=False, eps=1e-8, reduction="mean"):
    """Poisson negative log-likelihood: l = e^x - y x (log_input) or x - y log(x + eps);
    full adds Stirling's y log y - y + log(2 pi y) / 2 where y > 1;
    dl/dx = e^x - y (log_input) or 1 - y / (x + eps)."""
    input, target = _pair("poisson_nll_loss", input, target, reduction)
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        big = target > 1
        safe = _ops.where(big, target, to_tensor(1, target))
        stirling = safe * safe.log() - safe + 0.5 * (2 * np.pi * safe).log()
        loss = loss + _ops.where(big, stirling, to_tensor(0, target))
    return _reduce(loss, reduction)
