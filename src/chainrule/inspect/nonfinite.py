"""Non-finite values: which input, weight or op produced the first NaN or inf, and what to do.

The batch is rerun on a copy under detect_anomaly, with the running modules tracked, so the
finding names the op, the line that created it and the module whose forward it belongs to.
"""

import numpy as np

import chainrule as cr
from chainrule.inspect import evidence as E
from chainrule.inspect import findings as R
from chainrule.inspect.anomaly import AnomalyError, detect_anomaly
from chainrule.inspect.findings import Finding


def data_rows(data):
    """The number of rows of a pair, Dataset or DataLoader."""
    arrays = E.data_arrays(data)
    return len(arrays) if isinstance(arrays, E._Rows) else len(arrays[0])


def non_finite_inputs(x, total=None):
    flat = x.reshape(len(x), -1)
    bad = ~np.isfinite(flat)
    feature = int(np.flatnonzero(bad.any(axis=0))[0])
    return Finding("non_finite", "error", "inputs",
                   f"the inputs hold {int(bad.sum())} NaN or inf values (in {int(bad.any(1).sum())}"
                   f" of {total or len(x)} samples), first in feature {feature}",
                   "clean the data before training: drop or impute the missing values (the model "
                   "is not the cause, and no learning rate can fix it)")


def explain_non_finite(model, loss_fn, x, y, trained_steps=0):
    """A non_finite Finding for a batch whose loss or gradients are NaN/inf: the inputs, the
    weights, or the first op that produced them (rerun on a copy under detect_anomaly).

    trained_steps: optimizer steps taken so far (0: this is the first forward pass, so the
    learning rate cannot be the cause).
    """
    xa = x.numpy() if isinstance(x, cr.Tensor) else np.asarray(x)
    if xa.dtype.kind == "f" and not np.isfinite(xa).all():
        return non_finite_inputs(xa)
    for name, p in model.named_parameters():
        if not np.isfinite(p.numpy()).all():
            return Finding("non_finite", "error", name,
                           f"the weights are non-finite: {name} holds NaN or inf"
                           + (f" after {trained_steps} optimizer steps" if trained_steps
                              else ""),
                           "an optimizer step produced them: the learning rate is too high (or "
                           "a gradient overflowed); lower it, clip gradients "
                           "(nn.utils.clip_grad_norm_), and restart from a checkpoint")
    copy_, _ = E.training_copy(model)
    X = x if isinstance(x, cr.Tensor) else cr.tensor(xa)
    Y = y if isinstance(y, cr.Tensor) else cr.tensor(y)
    try:
        with E.kept_generator(), detect_anomaly(), cr.enable_grad():
            with E.watch(copy_):
                out = copy_(X)
            loss = loss_fn(out, Y)
            copy_.zero_grad()
            loss.backward()
    except AnomalyError as e:
        largest = max(float(np.abs(p.numpy()).max(initial=0.0)) for p in model.parameters())
        return _anomaly_finding(e, trained_steps, largest)
    return Finding("non_finite", "error", None,
                   "the loss or a gradient is non-finite, but rerunning the batch under "
                   "detect_anomaly gave finite values (a random op such as dropout?)",
                   "wrap the training step in cr.inspect.detect_anomaly() to stop at the op "
                   "that produces the first NaN or inf")


def _anomaly_finding(e, trained_steps, largest=None):
    where = e.scope or "loss"
    site = ""
    if e.site is not None:
        filename, line, func = e.site
        site = f", created at {filename.rsplit('/', 1)[-1]}:{line} in {func}"
    first = str(e).splitlines()[0].replace("detect_anomaly: ", "")
    inside = "the loss function" if where == "loss" else f"module '{where}'"
    message = f"in {inside}, {first}{site}"
    if trained_steps == 0 and e.phase == "forward":
        advice = ("this is the first forward pass, so the learning rate is not the cause: the "
                  f"model or the data is. {e.op}: {e.hint}")
    elif trained_steps == 0:
        advice = f"the forward pass is finite and the backward of {e.op} is not: {e.hint}"
    else:
        steps = f"{trained_steps} optimizer steps" if trained_steps else "training"
        advice = (f"after {steps} either the learning rate grew the weights until {e.op} "
                  f"overflowed (lower it) or {e.op} itself is unsafe here: {e.hint}")
        if largest is not None:
            message += f"; the largest weight is {R.g(largest)}"
    return Finding("non_finite", "error", where, message, advice)
