"""diagnose: run a network on a batch (and a few training steps, on a copy) and say what is wrong.

    >>> import numpy as np, chainrule as cr, chainrule.nn.functional as F
    >>> _ = cr.manual_seed(0)
    >>> X, y = cr.data.make_moons(200, seed=0)
    >>> model = cr.nn.Sequential(cr.nn.Linear(2, 16), cr.nn.ReLU(), cr.nn.Linear(16, 2))
    >>> d = cr.inspect.diagnose(model, F.cross_entropy, (X * 1000, y))
    >>> [(f.code, f.severity, f.where) for f in d.findings]
    [('unscaled_inputs', 'warning', 'input feature 0')]

Everything runs on copies: the model, its buffers, the optimizer's state, chainrule's random
generator and a DataLoader's shuffling state are left exactly as they were.
"""

import math
import time
from dataclasses import dataclass, field

import numpy as np

import chainrule as cr
from chainrule.inspect import evidence as E
from chainrule.inspect import findings as R
from chainrule.inspect.anomaly import AnomalyError, detect_anomaly
from chainrule.inspect.findings import Finding

_PER_SAMPLE = 64  # samples whose single gradients bound a batch gradient (missing_zero_grad)
_SWEEP = (10.0, 100.0, 1e3, 1e4, 1e5, 1e6)  # lr multipliers tried (and their inverses)


@dataclass
class Diagnosis:
    """The findings of `diagnose`, errors first, and the evidence they were computed from."""

    findings: list = field(default_factory=list)
    evidence: E.Evidence = field(default_factory=E.Evidence)

    @property
    def codes(self):
        """The codes of the findings, in order."""
        return [f.code for f in self.findings]

    def by_severity(self, severity):
        """The findings of one severity ('error', 'warning' or 'info')."""
        return [f for f in self.findings if f.severity == severity]

    def __bool__(self):
        return True

    def _summary(self):
        counts = [f"{len(self.by_severity(s))} {s}{'s' if len(self.by_severity(s)) != 1 else ''}"
                  for s in R.SEVERITIES]
        ev = self.evidence
        loss = f"loss {R.g(ev.loss)}" if ev.loss is not None else "loss not computed"
        if ev.task.chance is not None and ev.loss is not None:
            loss += f" (chance {ev.task.chance_text})"
        return f"diagnose: {', '.join(counts)}; {loss} on {ev.batch_size} samples"

    def _layer_rows(self):
        rows = []
        for layer in self.evidence.layers:
            act = layer.activation or "-"
            state = ("-" if layer.dead_fraction is None and layer.saturated_fraction is None else
                     f"dead {R.pct(layer.dead_fraction)}" if layer.dead_fraction is not None else
                     f"saturated {R.pct(layer.saturated_fraction)}")
            rows.append((str(layer.index), layer.name, layer.kind, act, R.g(layer.output_rms),
                         state, R.g(layer.grad_norm), R.g(layer.weight_norm),
                         R.g(layer.update_ratio)))
        return rows

    _HEADER = ("#", "layer", "kind", "activation", "out RMS", "units", "||dL/dW||", "||W||",
               "||dW||/||W||")

    def __str__(self):
        lines = [self._summary()]
        if not self.findings:
            lines.append("no problems found")
        lines += [str(f) for f in self.findings]
        rows = self._layer_rows()
        if rows:
            table = [self._HEADER] + rows
            widths = [max(len(r[i]) for r in table) for i in range(len(self._HEADER))]
            lines.append("")
            lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in table]
        return "\n".join(lines)

    def to_markdown(self):
        """The diagnosis as Markdown: a summary line, a findings table, the layers table."""
        esc = lambda s: str(s).replace("|", "\\|").replace("\n", " ")
        lines = [f"**{esc(self._summary())}**", ""]
        if self.findings:
            lines += ["| severity | code | where | what was measured | what to do |",
                      "|---|---|---|---|---|"]
            lines += [f"| {f.severity} | `{f.code}` | {esc(f.where or '')} | {esc(f.message)} | "
                      f"{esc(f.advice)} |" for f in self.findings]
        else:
            lines.append("No problems found.")
        rows = self._layer_rows()
        if rows:
            lines += ["", "| " + " | ".join(self._HEADER) + " |",
                      "|" + "---|" * len(self._HEADER)]
            lines += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
        return "\n".join(lines) + "\n"


def diagnose(model, loss_fn, data, optimizer=None, steps=0, *, val_data=None, batch_size=256,
             seed=0, sharpness=True):
    """Measure a network on a batch of `data` and return a Diagnosis: findings with advice.

    Args:
        model: a cr.nn.Module. loss_fn: loss(output, target) -> scalar Tensor.
        data, val_data: a pair (inputs, targets), a Dataset or a DataLoader; up to
            `batch_size` random rows (drawn with `seed`) are used, and as many more as a
            held-out check. With val_data the train/validation gap is checked (overfitting).
        optimizer: the model's optimizer; one real step on a copy measures ||dW||/||W||.
        steps: take that many training steps on one batch (on copies) to see the loss
            trajectory: divergence, no progress, no carry-over to held-out samples; a few
            extra short runs at other learning rates turn the finding into a measured advice.
        sharpness: for SGD, compare the Hessian's lambda_max (Lanczos, <= 20 products) with
            its stability bound 2(1 + momentum)/lr.

    The model, its buffers, the optimizer, chainrule's generator and any DataLoader are left
    bit for bit as they were; forward hooks the model already has run on the copies too.
    """
    if not isinstance(model, cr.nn.Module):
        raise TypeError(f"diagnose: model must be a cr.nn.Module; got {type(model).__name__}")
    if not callable(loss_fn):
        raise TypeError(f"diagnose: loss_fn must be callable loss(output, target); got "
                        f"{type(loss_fn).__name__}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"diagnose: steps must be a non-negative integer; got {steps!r}")
    if steps and optimizer is None:
        raise ValueError(f"diagnose: steps={steps} needs the optimizer to take them; pass "
                         "optimizer=")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 2:
        raise ValueError(f"diagnose: batch_size must be an integer >= 2; got {batch_size!r}")
    start = time.perf_counter()
    probe, held, bad = E.probe_rows(data, batch_size, seed)
    if bad is not None:
        ev = E.Evidence(batch_size=len(probe[0]))
        return Diagnosis([_non_finite_inputs(bad, total=_rows(data))], ev)
    val = None if val_data is None else E.probe_rows(val_data, batch_size, seed, "val_data")[0]
    with E.kept_generator(seed), cr.enable_grad():
        run = _Run(model, loss_fn, optimizer, probe, held, val, steps, sharpness)
        findings = run.findings()
    run.ev.seconds = time.perf_counter() - start
    return Diagnosis(R.sort_findings(findings), run.ev)


class _Run:
    """One diagnosis: the probes run in order, each on fresh copies of model and optimizer."""

    def __init__(self, model, loss_fn, optimizer, probe, held, val, steps, sharpness):
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        self.x, self.y = probe
        self.held, self.val, self.steps, self.want_sharpness = held, val, steps, sharpness
        self.ev = E.Evidence(batch_size=len(self.x))
        self.ev.trained_steps = E.trained_steps(optimizer)
        self.ev.lr = E.learning_rate(optimizer)
        self.opt_name = type(optimizer).__name__ if optimizer is not None else ""

    def findings(self):
        ev, out = self.ev, []
        x = np.asarray(self.x)
        if x.dtype.kind == "f":
            if not np.isfinite(x).all():
                return [_non_finite_inputs(x)]
            ev.input_scales, ev.input_constant = _input_scales(x)
            ev.input_spread = E.spread(x)
            out += R.input_findings(ev.input_scales, ev.input_constant)
        X, Y = cr.tensor(self.x), cr.tensor(self.y)
        model, _ = E.training_copy(self.model)
        ev.modules_in_eval = [(n, type(m).__name__) for n, m in model.named_modules()
                              if not m.training and type(m).__name__ in
                              ("Dropout",) + E.NORMALIZATION[:2]]
        out += R.mode_findings(ev.modules_in_eval, self.optimizer is not None)
        with E.watch(model) as watch:
            output = model(X)
        if not isinstance(output, cr.Tensor):
            raise TypeError(f"diagnose: the model must return a Tensor; got "
                            f"{type(output).__name__}")
        try:
            loss = self.loss_fn(output, Y)
        except (ValueError, TypeError) as e:
            if np.asarray(self.y).dtype.kind == "f" and tuple(output.shape) != tuple(Y.shape):
                return out + R.target_findings(output.shape, Y.shape, "f", loss_error=e)
            raise
        if not isinstance(loss, cr.Tensor) or loss.numel() != 1:
            raise ValueError(f"diagnose: loss_fn(output, target) must return a scalar Tensor; "
                             f"got {getattr(loss, 'shape', type(loss).__name__)}")
        ev.loss = float(loss.item())
        out += R.target_findings(output.shape, Y.shape, np.asarray(self.y).dtype.kind)
        ev.task = task_of(self.loss_fn, output, Y)
        ev.reduction = _reduction(self.loss_fn, output, Y)
        out += probability_findings(ev.task, output, Y, ev.loss, watch.last_leaf)
        if not math.isfinite(ev.loss):
            return out + [explain_non_finite(self.model, self.loss_fn, X, Y,
                                             ev.trained_steps)]
        model.zero_grad()
        loss.backward()
        ev.layers = list(watch.layers.values())
        ev.params = E.parameter_evidence(model)
        if not all(p.finite for p in ev.params):
            return out + [explain_non_finite(self.model, self.loss_fn, X, Y,
                                             ev.trained_steps)]
        weights = {f"{layer.name}.weight" if layer.name else "weight": layer
                   for layer in ev.layers}
        for p in ev.params:
            if p.name in weights:
                weights[p.name].grad_norm = p.grad_norm
        per_sample = 1.0 / len(self.x) if ev.reduction == "sum" else 1.0
        saturating = any(layer.activation in E.SATURATING for layer in ev.layers)
        out += R.activation_findings(ev.layers, len(self.x), ev.trained_steps != 0)
        out += R.gradient_findings(ev.layers, per_sample, saturating)
        trained = ev.trained_steps != 0
        out += R.init_findings(ev.layers, ev.input_spread, trained)
        out += R.trained_state_findings(ev)
        if self.optimizer is not None:
            self._update_ratio(X, Y, weights)
            bound = _stability_bound(self.optimizer)
            if self.want_sharpness and bound is not None:
                ev.sharpness_bound = bound
                ev.sharpness = self._sharpness(X, Y)
            if self.steps:
                self._trajectory(X, Y)
                out += R.trajectory_findings(ev, self.opt_name)
            out += R.update_findings(ev.layers, ev.lr, self.opt_name, trained, ev.losses)
            out += R.sharpness_findings(ev)
        out += self._stale_gradients()
        if self.val is not None and ev.task.chance is not None:
            out += self._overfitting()
        return out

    # ---- probes -------------------------------------------------------------------------
    def _update_ratio(self, X, Y, weights):
        model, opt = E.training_copy(self.model, self.optimizer)
        E.forward_backward(model, self.loss_fn, X, Y)
        norms = E.update_norms(model, opt)
        for p in self.ev.params:
            p.update_norm = norms.get(p.name)
            if p.name in weights and p.weight_norm > 0 and p.update_norm is not None:
                weights[p.name].update_ratio = p.update_norm / p.weight_norm

    def _sharpness(self, X, Y):
        from chainrule.inspect.curvature import hessian_eigs

        model, _ = E.training_copy(self.model)
        params = [p for p in model.parameters() if p.requires_grad]
        try:
            (lam,) = hessian_eigs(lambda: self.loss_fn(model(X), Y), params, k=1,
                                  max_steps=20, tol=1e-3)
        except (ValueError, FloatingPointError):
            return None
        return float(lam)

    def _trajectory(self, X, Y):
        ev = self.ev
        ev.losses = self._train(X, Y, 1.0)
        if self.held is not None and ev.task.chance is not None:
            ev.heldout = self._held_losses
        start, end = ev.losses[0], ev.losses[-1]
        if R.diverged(ev.losses):
            factors = [1 / m for m in _SWEEP]
        elif start - end < R.NO_PROGRESS * abs(start):
            factors = _SWEEP
        else:
            return
        best = end if factors is _SWEEP else float("inf")
        for m in factors:  # from the nearest lr outwards, while it keeps getting better
            losses = self._train(X, Y, m)
            ev.sweep[m] = losses[-1] if not R.diverged(losses) else float("nan")
            if factors is _SWEEP and not ev.sweep[m] < best:
                break  # larger still diverges or does no better
            if factors is not _SWEEP and R.progressed(losses):
                break  # the largest lower lr that makes progress: the advice
            best = min(best, ev.sweep[m])

    def _train(self, X, Y, factor):
        """The losses of self.steps steps on the probe batch, from fresh copies, lr * factor."""
        model, opt = E.training_copy(self.model, self.optimizer)
        if factor != 1.0:
            E.scale_lr(opt, factor)
        held = None if self.held is None else (cr.tensor(self.held[0]), cr.tensor(self.held[1]))
        before = self._eval_loss(model, *held) if held and factor == 1.0 else None
        losses = []
        for _ in range(self.steps):
            _, loss = E.forward_backward(model, self.loss_fn, X, Y)
            value = float(loss.item())
            losses.append(value)
            if not math.isfinite(value):
                break
            opt.step()
        else:
            with cr.no_grad():
                losses.append(float(self.loss_fn(model(X), Y).item()))
        if before is not None:
            self._held_losses = (before, self._eval_loss(model, *held))
        return losses

    def _eval_loss(self, model, X, Y):
        with cr.no_grad():
            return float(self.loss_fn(model(X), Y).item())

    def _stale_gradients(self):
        """missing_zero_grad: ||held .grad|| against the largest single-sample gradient."""
        grads = [p.grad.numpy() for p in self.model.parameters() if p.grad is not None]
        if not grads or self.ev.reduction != "mean":
            return []
        held = math.sqrt(sum(float(np.sum(np.asarray(g, np.float64) ** 2)) for g in grads))
        if not math.isfinite(held) or held == 0:
            return []
        model, _ = E.training_copy(self.model)
        if any(type(m).__name__ in E.NORMALIZATION[:2] for m in model.modules()):
            model.eval()  # one sample at a time: batch norm must use its running statistics
        largest = 0.0
        for i in range(min(_PER_SAMPLE, len(self.x))):
            E.forward_backward(model, self.loss_fn, cr.tensor(self.x[i:i + 1]),
                               cr.tensor(self.y[i:i + 1]))
            norm = math.sqrt(sum(float(np.sum(np.asarray(p.grad.numpy(), np.float64) ** 2))
                                 for p in model.parameters() if p.grad is not None))
            largest = max(largest, norm)
        if largest == 0:
            return []
        self.ev.stale_grad_ratio = held / largest
        return R.stale_grad_findings(self.ev.stale_grad_ratio, held, largest)

    def _overfitting(self):
        model, _ = E.training_copy(self.model)
        model.eval()
        train = _loss_and_accuracy(model, self.loss_fn, self.x, self.y, self.ev.task)
        val = _loss_and_accuracy(model, self.loss_fn, *self.val, self.ev.task)
        return R.overfitting_findings(self.ev.task, train[0], val[0], train[1], val[1])


# ---- helpers ------------------------------------------------------------------------------
def _input_scales(x):
    flat = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    rms = np.sqrt(np.mean(flat * flat, axis=0))
    constant = flat.std(axis=0) == 0
    return rms, constant


def _rows(data):
    arrays = E.data_arrays(data)
    return len(arrays) if isinstance(arrays, E._Rows) else len(arrays[0])


def _non_finite_inputs(x, total=None):
    flat = x.reshape(len(x), -1)
    bad = ~np.isfinite(flat)
    feature = int(np.flatnonzero(bad.any(axis=0))[0])
    return Finding("non_finite", "error", "inputs",
                   f"the inputs hold {int(bad.sum())} NaN or inf values (in {int(bad.any(1).sum())}"
                   f" of {total or len(x)} samples), first in feature {feature}",
                   "clean the data before training: drop or impute the missing values (the model "
                   "is not the cause, and no learning rate can fix it)")


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


def _reduction(loss_fn, output, Y):
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


def _stability_bound(optimizer):
    """Gradient descent's stability bound on lambda_max for SGD: 2(1 + mu)/lr (mu: momentum;
    Nesterov: (2 + 2 mu)/(1 + 2 mu)/lr); None for adaptive optimizers, where it does not apply."""
    if type(optimizer).__name__ != "SGD" or len(optimizer.param_groups) != 1:
        return None
    group = optimizer.param_groups[0]
    lr, mu = float(group["lr"]), float(group.get("momentum", 0.0))
    if lr <= 0:
        return None
    if group.get("nesterov"):
        return (2 + 2 * mu) / (1 + 2 * mu) / lr
    return 2 * (1 + mu) / lr


def _loss_and_accuracy(model, loss_fn, x, y, task):
    with cr.no_grad():
        out = model(cr.tensor(x))
        loss = float(loss_fn(out, cr.tensor(y)).item())
    acc = None
    if task.kind == "classification":
        acc = float((out.numpy().argmax(axis=1) == np.asarray(y)).mean())
    return loss, acc


def explain_non_finite(model, loss_fn, x, y, trained_steps=0):
    """A non_finite Finding for a batch whose loss or gradients are NaN/inf: the inputs, the
    weights, or the first op that produced them (rerun on a copy under detect_anomaly).

    trained_steps: optimizer steps taken so far (0: this is the first forward pass, so the
    learning rate cannot be the cause).
    """
    xa = x.numpy() if isinstance(x, cr.Tensor) else np.asarray(x)
    if xa.dtype.kind == "f" and not np.isfinite(xa).all():
        return _non_finite_inputs(xa)
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
