"""Callbacks for cr.train.fit: early stopping, checkpoints, gradient-flow recording.

A callback overrides any of the hooks below; each receives the fit's `state` (model,
optimizer, scheduler, history, epoch, batch_index, step, loss, stop_training, and
`training_state()` for a resumable snapshot). Names and arguments follow Keras, whose
callbacks are the ones people know (PyTorch has none).
"""

import math
import os

import numpy as np


class Callback:
    """Base class: hooks are no-ops; `order` sorts callbacks (higher runs later)."""

    order = 0

    def on_train_begin(self, state):
        """Before the first epoch (also when resuming)."""

    def on_epoch_begin(self, state):
        """Before each epoch's first batch."""

    def on_after_backward(self, state):
        """After loss.backward(), before optimizer.step(): gradients are in p.grad."""

    def on_batch_end(self, state):
        """After optimizer.step()."""

    def on_epoch_end(self, state, logs):
        """After validation, the scheduler step and the history update; logs is that epoch's."""

    def on_train_end(self, state):
        """After the last epoch, early stop or interruption."""

    def state_dict(self):
        """What a resumed run needs to continue exactly (saved in training checkpoints)."""
        return {}

    def load_state_dict(self, state_dict):
        """Restore what `state_dict()` returned."""


def _mode_for(monitor, mode, what):
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{what}: mode must be 'auto', 'min' or 'max'; got {mode!r}")
    if mode == "auto":
        name = monitor[4:] if monitor.startswith("val_") else monitor
        mode = "max" if name in ("accuracy", "precision", "recall", "f1", "r2") else "min"
    return mode


def _monitored(logs, monitor, what):
    if monitor not in logs:
        raise ValueError(f"{what}: monitored quantity {monitor!r} is not in the epoch's logs; "
                         f"available: {sorted(logs)} (val_* needs val_data)")
    return float(logs[monitor])


class EarlyStopping(Callback):
    """Stop when `monitor` has not improved by more than min_delta for `patience` epochs.

    restore_best_weights=True puts the best epoch's weights back into the model when
    training ends (however it ends).
    """

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=3, mode="auto",
                 restore_best_weights=False):
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ValueError(f"EarlyStopping: patience must be a non-negative integer; "
                             f"got {patience!r}")
        self.monitor, self.min_delta, self.patience = monitor, abs(min_delta), patience
        self.mode = _mode_for(monitor, mode, "EarlyStopping")
        self.restore_best_weights = restore_best_weights
        self.best, self.best_epoch, self.wait, self.stopped_epoch = None, None, 0, None
        self.best_weights = None

    def _improved(self, value):
        if self.best is None:
            return True
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, state, logs):
        value = _monitored(logs, self.monitor, "EarlyStopping")
        if math.isfinite(value) and self._improved(value):
            self.best, self.best_epoch, self.wait = value, state.epoch, 0
            if self.restore_best_weights:
                self.best_weights = {k: v._data.copy()
                                     for k, v in state.model.state_dict().items()}
            return
        self.wait += 1
        if self.wait > self.patience:
            self.stopped_epoch = state.epoch
            state.stop_training = True
            state.history.stop_reason = (f"early stopping: {self.monitor} did not improve for "
                                         f"{self.wait} epochs (best {self.best:.4g} at epoch "
                                         f"{self.best_epoch})")

    def on_train_end(self, state):
        if self.restore_best_weights and self.best_weights is not None:
            state.model.load_state_dict(self.best_weights)

    def state_dict(self):
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait,
                "stopped_epoch": self.stopped_epoch, "best_weights": self.best_weights}

    def load_state_dict(self, state_dict):
        for k, v in state_dict.items():
            if k == "best_weights" and v is not None:
                v = {name: np.array(t._data if hasattr(t, "_data") else t) for name, t in v.items()}
            setattr(self, k, v)


class ModelCheckpoint(Callback):
    """Save a checkpoint at the end of each epoch (or only when `monitor` improves).

    `filepath` may use {epoch} and log keys, e.g. "ckpt-{epoch:03d}.safetensors". The file
    holds the whole training state (model, optimizer, scheduler, epoch, history, random
    states), so `fit(..., resume=filepath)` continues exactly; save_weights_only=True saves
    the model's state_dict alone. `extra` (values and arrays) is saved with the training
    state, e.g. the configuration that built the model. Runs after the other callbacks, so it saves
    their state too. In a data-parallel fit only rank 0 writes.
    """

    order = 100

    def __init__(self, filepath, monitor="val_loss", save_best_only=False, mode="auto",
                 save_weights_only=False, extra=None):
        self.filepath = os.fspath(filepath)
        self.extra = extra
        self.monitor, self.save_best_only = monitor, save_best_only
        self.mode = _mode_for(monitor, mode, "ModelCheckpoint")
        self.save_weights_only = save_weights_only
        self.best = None
        self.last_path = None

    def on_epoch_end(self, state, logs):
        from chainrule.train.checkpoint import save

        if self.save_best_only:
            value = _monitored(logs, self.monitor, "ModelCheckpoint")
            better = self.best is None or (value < self.best if self.mode == "min"
                                           else value > self.best)
            if not (math.isfinite(value) and better):
                return
            self.best = value
        path = self.filepath.format(epoch=state.epoch, **logs)
        parallel = getattr(state, "parallel", None)
        if parallel is not None and parallel.rank != 0:
            self.last_path = path  # in a data-parallel fit, rank 0 writes the checkpoints
            return
        if self.save_weights_only:
            save(state.model.state_dict(), path)
        else:
            save(dict(state.training_state(), extra=self.extra), path)
        self.last_path = path

    def state_dict(self):
        return {"best": self.best, "last_path": self.last_path}

    def load_state_dict(self, state_dict):
        self.best = state_dict.get("best")
        self.last_path = state_dict.get("last_path")


class GradientFlowRecorder(Callback):
    """Record per-layer gradient norms, weight norms and their ratio during training.

    Uses cr.inspect.gradient_flow after backward, on the first batch of every epoch (or every
    `every` optimizer steps); the ratio is ‖ΔW‖/‖W‖, measured from the optimizer's actual
    step on that batch (right for every optimizer, Adam included). `records` holds one dict
    per recording: epoch, step, lr, layers.
    """

    def __init__(self, every=None):
        if every is not None and (isinstance(every, bool) or not isinstance(every, int)
                                  or every < 1):
            raise ValueError(f"GradientFlowRecorder: every must be None or a positive integer; "
                             f"got {every!r}")
        self.every = every
        self.records = []

    def on_after_backward(self, state):
        due = state.batch_index == 0 if self.every is None else state.step % self.every == 0
        if not due:
            return
        from chainrule import inspect

        lr = state.optimizer.param_groups[0].get("lr") if state.optimizer else None
        lr = float(lr) if lr is not None and lr > 0 else None  # a schedule may reach 0
        layers = [{"name": f.name, "shape": list(f.shape), "grad_norm": float(f.grad_norm),
                   "weight_norm": float(f.weight_norm), "ratio": float("nan"),
                   "flag": f.flag}
                  for f in inspect.gradient_flow(state.model)]
        self.records.append({"epoch": state.epoch, "step": state.step, "lr": lr,
                             "layers": layers})
        names = {layer["name"] for layer in layers}  # the real step's ||dW|| in on_batch_end
        self._before = {n: p.numpy().copy() for n, p in state.model.named_parameters()
                        if n in names}

    def on_batch_end(self, state):
        before = self.__dict__.pop("_before", None)
        if before is None:
            return
        now = dict(state.model.named_parameters())
        for layer in self.records[-1]["layers"]:
            w = before[layer["name"]].astype(np.float64)
            dw = now[layer["name"]].numpy().astype(np.float64) - w
            norm = float(np.linalg.norm(w))
            step = float(np.linalg.norm(dw))
            layer["ratio"] = step / norm if norm > 0 else (0.0 if step == 0 else float("inf"))

    def as_arrays(self, key="grad_norm"):
        """(steps (T,), layer names (L,), values (T, L)) of `key` for plotting."""
        if not self.records:
            return np.zeros(0, np.int64), [], np.zeros((0, 0))
        names = [layer["name"] for layer in self.records[0]["layers"]]
        steps = np.array([r["step"] for r in self.records])
        values = np.array([[layer.get(key, np.nan) for layer in r["layers"]]
                           for r in self.records], dtype=np.float64)
        return steps, names, values

    def state_dict(self):
        return {"records": self.records}

    def load_state_dict(self, state_dict):
        self.records = list(state_dict.get("records", []))
