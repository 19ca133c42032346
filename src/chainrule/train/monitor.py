"""TrainingMonitor: the checks of cr.inspect.diagnose while cr.train.fit runs, warning once each.

Every `every` optimizer steps (and at the start) a short burst of consecutive steps is sampled,
enough for `samples` rows (two steps of batch 32). A sampled step runs eagerly even when fit
compiles its steps, with forward hooks that read each layer's activations (dead ReLU units,
saturated sigmoid/tanh values); the monitor reads the gradient norms after backward and the
real update ||dW||/||W|| after the optimizer's step. At each epoch's end it compares the loss
with the chance level and the validation loss with the training loss. A sampled step computes
the same numbers as a compiled one: only hooks are added. A non-finite loss stops fit itself,
which names the cause (cr.inspect.explain_non_finite).
"""

import copy
import math
import warnings

import numpy as np

from chainrule.inspect import evidence as E
from chainrule.inspect import findings as R
from chainrule.inspect import learning_findings as L
from chainrule.inspect.findings import Finding
from chainrule.inspect.task import loss_and_accuracy, probability_findings, reduction_of, task_of
from chainrule.train.callbacks import Callback


class TrainingWarning(UserWarning):
    """A problem the TrainingMonitor found (its message is the Finding: code, numbers, advice)."""


class TrainingMonitor(Callback):
    """Watch training for the failures `cr.inspect.diagnose` finds; report each problem once.

    Args:
        every: sample a burst of consecutive optimizer steps every `every` steps (and at the
            start): as many as give `samples` rows (2 to 4 steps). Activations are judged over
            the burst's batches: a unit is dead when it is 0 on all of them.
        emit: 'warn' (warnings.warn with TrainingWarning), 'print' (a line through fit's
            progress writer) or a callable(finding). Only findings of severity `level` or worse
            are emitted; all are kept in `findings` as (step, Finding).
        level: 'warning' (default) or 'info' or 'error'.

        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> _ = cr.manual_seed(0)
        >>> X, y = cr.data.make_moons(200, seed=0)
        >>> model = cr.nn.Sequential(cr.nn.Linear(2, 16), cr.nn.ReLU(), cr.nn.Linear(16, 2))
        >>> monitor = cr.train.TrainingMonitor(emit=lambda f: None)
        >>> h = cr.train.fit(model, F.cross_entropy, cr.optim.SGD(model.parameters(), lr=500.0),
        ...                  (X, y), epochs=2, callbacks=[monitor], progress=False)
        >>> [(step, f.code, f.severity) for step, f in monitor.findings][0]
        (1, 'learning_rate_too_high', 'error')
        >>> h.stop_reason.split(";")[0]
        'stopped: the loss is nan at epoch 2, batch 5'
    """

    order = 50  # after the user's callbacks, before ModelCheckpoint saves our state

    def __init__(self, every=100, emit="warn", level="warning", samples=64):
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"TrainingMonitor: every must be a positive integer; got {every!r}")
        if level not in R.SEVERITIES:
            raise ValueError(f"TrainingMonitor: level must be one of {R.SEVERITIES}; got "
                             f"{level!r}")
        if emit not in ("warn", "print") and not callable(emit):
            raise ValueError(f"TrainingMonitor: emit must be 'warn', 'print' or a callable; got "
                             f"{emit!r}")
        self.every, self.emit, self.level, self.samples = every, emit, level, samples
        self.findings = []  # (step, Finding), in the order first seen
        self._reported = {}  # (code, where) -> severity rank reported
        self.sampled_steps = 0

    # ---- fit's hooks ------------------------------------------------------------------------
    def on_train_begin(self, state):
        self._state = state
        self._task = None
        self._per_sample = 1.0
        self._pending = None
        self._window = []  # this burst's sampled steps: [(step, rows, {name: LayerEvidence})]
        self._train_rows, self._gap_codes = None, set()
        self._target = min(self.samples, _length(state.loader))
        batch = max(int(getattr(state.loader, "batch_size", 1) or 1), 1)
        self._burst = min(max(2, math.ceil(self._target / batch)), 4)
        self._first_step = state.step + 1
        compiled = state.forward_backward
        eager = getattr(state, "eager_forward_backward", None) or compiled

        def forward_backward(x, y):
            step = state.step + 1
            if not self._due(step):
                return compiled(x, y)
            with E.watch(state.model, scope=False, detail=False) as watch:  # eager: hooks run
                out, loss = eager(x, y)
            self._pending = (step, watch, x, y, out, loss)
            return out, loss

        state.forward_backward = forward_backward

    def on_after_backward(self, state):
        if self._pending is None or self._pending[0] != state.step:
            self._pending = None
            return
        step, watch, x, y, out, loss = self._pending
        self.sampled_steps += 1
        if self._task is None:
            self._first_batch(x, y, out, loss, watch.last_leaf)
        layers = list(watch.layers.values())
        weights = {_weight_name(layer): layer for layer in layers}
        named = dict(state.model.named_parameters())
        finite = True
        for name, layer in weights.items():
            p = named.get(name)
            if p is not None and p.grad is not None:
                layer.grad_norm = E._norm(p.grad.numpy())
                finite = finite and math.isfinite(layer.grad_norm)
        if finite:
            saturating = any(layer.activation in E.SATURATING for layer in layers)
            self._report(R.gradient_findings(layers, self._per_sample, saturating))
        else:
            self._report(R.non_finite_gradient_finding(E.parameter_evidence(state.model)))
        self._activations(layers, len(out))
        self._before = {name: named[name].numpy().copy() for name in weights if name in named}
        self._layers = layers

    def on_batch_end(self, state):
        if self._pending is None:
            return
        self._pending = None
        weights = {_weight_name(layer): layer for layer in self._layers}
        for name, p in state.model.named_parameters():
            if name in self._before:
                w = self._before[name].astype(np.float64)
                norm = weights[name].weight_norm = E._norm(w)
                if norm > 0:
                    weights[name].update_ratio = E._norm(p.numpy() - w) / norm
        lr = E.learning_rate(state.optimizer)
        self._report(L.update_findings(self._layers, lr, type(state.optimizer).__name__, True))
        self._last_ratio = [layer.update_ratio for layer in self._layers
                            if layer.update_ratio is not None]
        del self._before

    def on_epoch_end(self, state, logs):
        if self._task is None:
            return
        losses = state.history.history.get("loss", [])
        steps = state.step - self._first_step + 1
        if len(losses) >= L.AT_CHANCE_MONITOR_EPOCHS and steps >= L.AT_CHANCE_MONITOR_STEPS:
            self._report(L.chance_findings_from_history(self._task, losses, steps))
        loss = logs.get("loss")
        task = self._task
        if task.kind in ("classification", "binary") and loss is not None \
                and loss > L.ABOVE_CHANCE * task.chance:
            self._report([Finding(
                "learning_rate_too_high", "error", None,
                f"the training loss of epoch {state.epoch} is {R.g(loss)}, "
                f"{R.g(loss / task.chance)}x the chance level ({task.chance_text}): the model "
                f"is confidently wrong, the weights have diverged",
                "lower the learning rate 10x or more and restart from a fresh initialisation")])
        if "val_loss" in logs and task.chance is not None:
            self._validation(state, logs, steps)
        if len(losses) >= 2 and loss is not None and losses[-2]:
            ratios = getattr(self, "_last_ratio", [])
            grads = [layer.grad_norm for layer in getattr(self, "_layers", [])
                     if layer.grad_norm is not None]
            if ratios and grads and float(np.median(grads)) > L.GRAD_TINY \
                    and losses[-2] - loss < L.NO_PROGRESS * abs(losses[-2]) \
                    and float(np.median(ratios)) < L.UPDATE_TINY * 10 \
                    and (task.chance is None or loss > 0.5 * task.chance):
                lr = E.learning_rate(state.optimizer)
                self._report([Finding(
                    "learning_rate_too_low", "warning", None,
                    f"the training loss went from {R.g(losses[-2])} to {R.g(loss)} in epoch "
                    f"{state.epoch} while each step moves the weights by "
                    f"{R.g(float(np.median(ratios)))} of their norm (lr {R.g(lr)})",
                    f"raise the learning rate (10x: {R.g(10 * lr)}), or check with "
                    f"cr.inspect.diagnose(..., steps=20), which tries larger ones")])

    def _validation(self, state, logs, steps):
        """overfitting / loss_at_chance on validation, when two epoch ends in a row say so.

        The training side is measured like the validation side (fit's evaluate): in eval mode,
        after the epoch, on up to 256 training rows; the epoch's running training loss and
        accuracy are averages over changing weights, with dropout on, and do not compare.
        """
        if self._train_rows is None:
            try:
                self._train_rows = E.probe_rows(state.loader.dataset, 256, 0, "train_data")[0]
            except (ValueError, TypeError, AttributeError):  # rows we cannot read: no check
                self._train_rows = ()
        if not self._train_rows:
            return
        modes = [(m, m.training) for m in state.model.modules()]
        state.model.eval()
        try:
            train = loss_and_accuracy(state.model, state.loss_fn, *self._train_rows, self._task)
        finally:
            for m, mode in modes:  # parents first: each child then gets its own mode back
                m.train(mode)
        found = L.overfitting_findings(self._task, train[0], logs["val_loss"], train[1],
                                       logs.get("val_accuracy"))
        if steps < L.AT_CHANCE_MIN_STEPS:
            found = [f for f in found if f.code != "loss_at_chance"]
        codes = {f.code for f in found}
        self._report([f for f in found if f.code in self._gap_codes])  # the second in a row
        self._gap_codes = codes

    # ---- state (saved in training checkpoints, so a resumed run warns no twice) ---------------
    def state_dict(self):
        return {"reported": [[c, w, r] for (c, w), r in self._reported.items()],
                "findings": [[s, f.code, f.severity, f.where, f.message, f.advice]
                             for s, f in self.findings]}

    def load_state_dict(self, state_dict):
        self._reported = {(c, w): int(r) for c, w, r in state_dict.get("reported", [])}
        self.findings = [(int(s), Finding(c, sev, w, m, a))
                         for s, c, sev, w, m, a in state_dict.get("findings", [])]

    # ---- helpers ----------------------------------------------------------------------------
    def _due(self, step):
        return step - self._first_step < self._burst or step % self.every < self._burst

    def _first_batch(self, x, y, out, loss, last_leaf):
        """Checks of the data and the loss, on the first sampled batch."""
        X = x.numpy() if hasattr(x, "numpy") else np.asarray(x)
        Y = y if hasattr(y, "numpy") else None
        if Y is None:  # targets that are not tensors: nothing to check them against
            self._task = E.Task()
            return
        self._task = task_of(self._state.loss_fn, out.detach(), Y)
        self._per_sample = 1.0 / len(X) if reduction_of(self._state.loss_fn, out.detach(), Y) \
            == "sum" else 1.0
        if X.dtype.kind == "f" and len(X) > 1:
            flat = X.reshape(len(X), -1).astype(np.float64)
            self._report(R.input_findings(np.sqrt(np.mean(flat * flat, axis=0)),
                                          flat.std(axis=0) == 0))
        self._report(R.target_findings(out.shape, tuple(Y.shape), Y.numpy().dtype.kind))
        self._report(probability_findings(self._task, out.detach(), Y, float(loss.item()),
                                          last_leaf))
        self._report(R.mode_findings([(n, type(m).__name__) for n, m in
                                      self._state.model.named_modules()
                                      if not m.training and type(m).__name__ in
                                      ("Dropout",) + E.NORMALIZATION[:2]], True))

    def _activations(self, layers, rows):
        """Judge activations over the batches of one burst of consecutive sampled steps."""
        step = self._state.step
        if self._window and self._window[-1][0] != step - 1:
            self._window = []  # a burst is consecutive steps; this one starts afresh
        self._window.append((step, rows, {layer.name: layer for layer in layers}))
        if len(self._window) < self._burst:
            return
        total = sum(r for _, r, _ in self._window)
        judged = []
        for layer in layers:
            seen = [(r, ls[layer.name]) for _, r, ls in self._window if layer.name in ls]
            alive = [lay.alive for _, lay in seen if lay.alive is not None]
            saturated = [(r, lay.saturated_fraction) for r, lay in seen
                         if lay.saturated_fraction is not None]
            merged = copy.copy(layer)
            if alive and all(a.shape == alive[0].shape for a in alive):
                merged.dead_fraction = float(1 - np.logical_or.reduce(alive).mean())
            if saturated:
                merged.saturated_fraction = sum(r * f for r, f in saturated) / \
                    sum(r for r, _ in saturated)
            judged.append(merged)
        self._report(R.activation_findings(judged, total, trained=step > self._burst))
        self._window = []

    def _report(self, findings):
        for f in findings:
            rank = len(R.SEVERITIES) - R.SEVERITIES.index(f.severity)
            key = (f.code, f.where)
            if self._reported.get(key, 0) >= rank:
                continue
            self._reported[key] = rank
            self.findings.append((self._state.step, f))
            if R.SEVERITIES.index(f.severity) > R.SEVERITIES.index(self.level):
                continue
            if self.emit == "warn":
                warnings.warn(f"step {self._state.step}: {f}", TrainingWarning, stacklevel=2)
            elif self.emit == "print":
                self._state.write(f"monitor, step {self._state.step}: {f}")
            else:
                self.emit(f)


def _weight_name(layer):
    return f"{layer.name}.weight" if layer.name else "weight"


def _length(loader):
    dataset = getattr(loader, "dataset", None)
    try:
        return len(dataset) if dataset is not None else 10 ** 9
    except TypeError:
        return 10 ** 9
