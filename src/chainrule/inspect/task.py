"""What the loss is: the task it defines, its chance level, its reduction; probabilities in it.

A loss is recognised by its value at a know-nothing prediction: C-class cross-entropy gives
log C at zero logits, a binary one log 2, mean squared error Var(y) at the mean. A sum-reduced
loss of a batch is the sum of its halves' losses, a mean-reduced one their weighted mean.
"""

import math

import numpy as np

import chainrule as cr
from chainrule.inspect import evidence as E
from chainrule.inspect import findings as R


def task_of(loss_fn, output, Y):
    """The Task the loss defines: C-class cross-entropy (chance log C), binary (log 2), or
    regression (chance Var(y)), recognised by the loss's value at a know-nothing prediction."""
    o = output.numpy()
    y = np.asarray(Y.numpy())
    zeros = cr.tensor(np.zeros(o.shape, dtype=o.dtype))
    try:
        with cr.no_grad():
            if o.ndim >= 2 and o.shape[1] >= 2 and y.dtype.kind in "iu" and y.ndim == o.ndim - 1:
                C = o.shape[1]
                if abs(loss_fn(zeros, Y).item() - math.log(C)) < 1e-3 * math.log(C):
                    return E.Task("classification", C, math.log(C), f"log {C} = {R.g(math.log(C))}")
            if y.dtype.kind == "f" and y.size == o.size:
                if np.isin(y, (0.0, 1.0)).all() and \
                        abs(loss_fn(zeros, Y).item() - math.log(2)) < 1e-3:
                    return E.Task("binary", 2, math.log(2), f"log 2 = {R.g(math.log(2))}")
                mean = cr.tensor(np.full(o.shape, y.mean(), dtype=o.dtype))
                var = float(np.mean((y.astype(np.float64) - y.mean()) ** 2))
                if var > 0 and abs(loss_fn(mean, Y).item() - var) < 1e-3 * var:
                    return E.Task("regression", None, var, f"Var(y) = {R.g(var)}")
    except (ValueError, TypeError, IndexError):
        pass
    return E.Task()


def reduction_of(loss_fn, output, Y):
    """'mean' or 'sum': how the loss of the batch relates to the losses of its two halves."""
    n = len(output)
    if n < 2:
        return None
    h = n // 2
    with cr.no_grad():
        try:
            whole = loss_fn(output, Y).item()
            a, b = loss_fn(output[:h], Y[:h]).item(), loss_fn(output[h:], Y[h:]).item()
        except (ValueError, TypeError, IndexError):
            return None
    if not all(map(math.isfinite, (whole, a, b))) or abs(whole) < 1e-12:
        return None
    tol = 1e-3 * abs(whole)
    mean = (h * a + (n - h) * b) / n
    if abs(whole - mean) <= tol and not abs(whole - (a + b)) <= tol:
        return "mean"
    if abs(whole - (a + b)) <= tol:
        return "sum"
    return None


def probability_findings(task, output, Y, loss, last_leaf=None):
    """probabilities_into_cross_entropy: outputs that are probabilities (rows summing to 1, or
    values in [0, 1]) and a loss whose value equals cross-entropy applied to them as logits."""
    o = output.numpy().astype(np.float64)
    if task.kind not in ("classification", "binary") or not np.isfinite(o).all():
        return []
    where = last_leaf[0] if last_leaf and last_leaf[1] in ("Softmax", "Sigmoid") else None
    bounded = bool(o.min() >= 0 and o.max() <= 1)
    sums_one = bool(task.kind == "classification" and bounded and o.ndim == 2
                    and np.abs(o.sum(axis=1) - 1).max() < 1e-3)
    with cr.no_grad():
        if task.kind == "classification":
            logits = cr.nn.functional.cross_entropy(output, Y).item()
        else:
            logits = cr.nn.functional.binary_cross_entropy_with_logits(
                output, Y.reshape(output.shape).astype(output.dtype)).item()
    same = abs(logits - loss) <= 1e-4 * max(1.0, abs(logits))
    return R.probability_findings(task, sums_one, bounded, same, where)


def loss_and_accuracy(model, loss_fn, x, y, task):
    """(loss, accuracy or None) of model on (x, y), without recording a graph."""
    with cr.no_grad():
        out = model(cr.tensor(x))
        loss = float(loss_fn(out, cr.tensor(y)).item())
    acc = None
    if task.kind == "classification":
        acc = float((out.numpy().argmax(axis=1) == np.asarray(y)).mean())
    return loss, acc
