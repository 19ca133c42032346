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
from chainrule._device import require_host as _require_host
from chainrule.inspect import evidence as E
from chainrule.inspect import findings as R
from chainrule.inspect import learning_findings as L
from chainrule.inspect.nonfinite import data_rows, explain_non_finite, non_finite_inputs
from chainrule.inspect.task import loss_and_accuracy, probability_findings, reduction_of, task_of

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

    def _repr_html_(self):  # rich display in Jupyter: chainrule.inspect._repr
        from chainrule.inspect import _repr as reprs

        return reprs.diagnosis_html(self)

    def _repr_markdown_(self):
        return self.to_markdown()

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
    _require_host("diagnose", model)
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
        return Diagnosis([non_finite_inputs(bad, total=data_rows(data))], ev)
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
        """Every finding, probe by probe; a probe that finds the run broken ends it."""
        out = []
        for probe in (self._inputs, self._forward, self._backward, self._optimizer,
                      self._others):
            found, stop = probe()
            out += found
            if stop:
                break
        return out

    def _inputs(self):
        ev, x = self.ev, np.asarray(self.x)
        if x.dtype.kind != "f":
            return [], False
        if not np.isfinite(x).all():
            return [non_finite_inputs(x)], True
        ev.input_scales, ev.input_constant = _input_scales(x)
        ev.input_spread = E.spread(x)
        return R.input_findings(ev.input_scales, ev.input_constant), False

    def _forward(self):
        """One forward pass on a copy, watched: modes, shapes, the task, probabilities."""
        ev = self.ev
        self.X, self.Y = X, Y = cr.tensor(self.x), cr.tensor(self.y)
        self.copy, _ = model, _ = E.training_copy(self.model)
        ev.modules_in_eval = [(n, type(m).__name__) for n, m in model.named_modules()
                              if not m.training and type(m).__name__ in
                              ("Dropout",) + E.NORMALIZATION[:2]]
        out = R.mode_findings(ev.modules_in_eval, self.optimizer is not None)
        with E.watch(model) as self.watch:
            output = model(X)
        if not isinstance(output, cr.Tensor):
            raise TypeError(f"diagnose: the model must return a Tensor; got "
                            f"{type(output).__name__}")
        y_kind = np.asarray(self.y).dtype.kind
        try:
            self.loss = loss = self.loss_fn(output, Y)
        except (ValueError, TypeError) as e:
            if y_kind == "f" and tuple(output.shape) != tuple(Y.shape):
                return out + R.target_findings(output.shape, Y.shape, "f", loss_error=e), True
            raise
        if not isinstance(loss, cr.Tensor) or loss.numel() != 1:
            raise ValueError(f"diagnose: loss_fn(output, target) must return a scalar Tensor; "
                             f"got {getattr(loss, 'shape', type(loss).__name__)}")
        ev.loss = float(loss.item())
        out += R.target_findings(output.shape, Y.shape, y_kind)
        ev.task = task_of(self.loss_fn, output, Y)
        ev.reduction = reduction_of(self.loss_fn, output, Y)
        out += probability_findings(ev.task, output, Y, ev.loss, self.watch.last_leaf)
        if not math.isfinite(ev.loss):
            return out + [explain_non_finite(self.model, self.loss_fn, X, Y,
                                             ev.trained_steps)], True
        return out, False

    def _backward(self):
        """Gradients: activations, vanishing/exploding, initialisation, a trained state."""
        ev = self.ev
        self.copy.zero_grad()
        self.loss.backward()
        ev.layers = list(self.watch.layers.values())
        ev.params = E.parameter_evidence(self.copy)
        if not all(p.finite for p in ev.params):
            return [explain_non_finite(self.model, self.loss_fn, self.X, self.Y,
                                       ev.trained_steps)], True
        self.weights = {f"{layer.name}.weight" if layer.name else "weight": layer
                        for layer in ev.layers}
        for p in ev.params:
            if p.name in self.weights:
                self.weights[p.name].grad_norm = p.grad_norm
        per_sample = 1.0 / len(self.x) if ev.reduction == "sum" else 1.0
        saturating = any(layer.activation in E.SATURATING for layer in ev.layers)
        trained = ev.trained_steps != 0
        out = R.activation_findings(ev.layers, len(self.x), trained)
        out += R.gradient_findings(ev.layers, per_sample, saturating)
        out += R.init_findings(ev.layers, ev.input_spread, trained)
        out += L.trained_state_findings(ev)
        return out, False

    def _optimizer(self):
        """The optimizer's real step, lambda_max against its bound, the trajectory."""
        ev = self.ev
        if self.optimizer is None:
            return [], False
        self._update_ratio(self.X, self.Y, self.weights)
        bound = _stability_bound(self.optimizer)
        if self.want_sharpness and bound is not None:
            ev.sharpness_bound = bound
            ev.sharpness = self._sharpness(self.X, self.Y)
        out = []
        if self.steps:
            self._trajectory(self.X, self.Y)
            out += L.trajectory_findings(ev, self.opt_name)
        out += L.update_findings(ev.layers, ev.lr, self.opt_name, ev.trained_steps != 0,
                                 ev.losses)
        out += L.sharpness_findings(ev)
        return out, False

    def _others(self):
        out = self._stale_gradients()
        if self.val is not None and self.ev.task.chance is not None:
            out += self._overfitting()
        return out, False

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
        if L.diverged(ev.losses, ev.task.chance):
            factors = [1 / m for m in _SWEEP]
        elif start - end < L.NO_PROGRESS * abs(start):
            factors = _SWEEP
        else:
            return
        best = end if factors is _SWEEP else float("inf")
        for m in factors:  # from the nearest lr outwards, while it keeps getting better
            losses = self._train(X, Y, m)
            ev.sweep[m] = losses[-1] if not L.diverged(losses, ev.task.chance) else float("nan")
            if factors is _SWEEP and not ev.sweep[m] < best:
                break  # larger still diverges or does no better
            if factors is not _SWEEP and L.progressed(losses, ev.task.chance):
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
        train = loss_and_accuracy(model, self.loss_fn, self.x, self.y, self.ev.task)
        val = loss_and_accuracy(model, self.loss_fn, *self.val, self.ev.task)
        return L.overfitting_findings(self.ev.task, train[0], val[0], train[1], val[1])


# ---- helpers ------------------------------------------------------------------------------
def _input_scales(x):
    flat = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    rms = np.sqrt(np.mean(flat * flat, axis=0))
    constant = flat.std(axis=0) == 0
    return rms, constant


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


