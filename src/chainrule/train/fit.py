"""The fit loop: forward, loss, backward, step per batch; metrics, validation, callbacks per epoch.

Ctrl-C (KeyboardInterrupt) or a non-finite loss stops training cleanly: the model, optimizer
and scheduler go back to the state at the end of the last complete epoch, and `fit` returns
the history so far (with `stop_reason` set). Training checkpoints (ModelCheckpoint) hold the
whole state, random generators included, so `fit(..., resume=path)` continues bit for bit.
"""

import copy
import math
import time
from collections import Counter

import numpy as np

from chainrule.core import mode as _mode
from chainrule.core.backend import to_host
from chainrule.core.tensor import Tensor, from_array
from chainrule.data.dataset import DataLoader, Dataset, TensorDataset
from chainrule.ops.shape import stack
from chainrule.optim.lr_scheduler import ReduceLROnPlateau
from chainrule.train.callbacks import Callback
from chainrule.train.metrics import get_metric
from chainrule.train.progress import Progress

_STATE_FORMAT = "chainrule.fit/1"


class History:
    """Per-epoch logs: history.history["val_loss"] is a list, history.epoch the epoch numbers."""

    def __init__(self):
        self.epoch = []
        self.history = {}
        self.stop_reason = None

    def append(self, epoch, logs):
        """Add one epoch's logs (keys missing in earlier epochs are padded with None)."""
        for k in logs:
            self.history.setdefault(k, [None] * len(self.epoch))
        self.epoch.append(int(epoch))
        for k, values in self.history.items():
            values.append(logs.get(k))

    def __getitem__(self, key):
        return self.history[key]

    def __contains__(self, key):
        return key in self.history

    def __len__(self):
        return len(self.epoch)

    def last(self):
        """The logs of the last epoch as a dict ({} before the first)."""
        return {k: v[-1] for k, v in self.history.items()} if self.epoch else {}

    def to_dict(self):
        """A plain dict (JSON-serialisable) of the history."""
        return {"epoch": list(self.epoch), "history": {k: list(v) for k, v in
                                                       self.history.items()},
                "stop_reason": self.stop_reason}

    @classmethod
    def from_dict(cls, d):
        """Rebuild a History from `to_dict()`."""
        h = cls()
        h.epoch = [int(e) for e in d.get("epoch", [])]
        h.history = {k: list(v) for k, v in d.get("history", {}).items()}
        h.stop_reason = d.get("stop_reason")
        return h

    def __repr__(self):
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"

    def _repr_html_(self):  # rich display in Jupyter: chainrule.inspect._repr
        from chainrule.inspect import _repr as reprs

        return reprs.history_html(self)


def _loader(data, batch_size, shuffle, seed, what):
    if isinstance(data, DataLoader):
        return data
    if isinstance(data, (tuple, list)):
        data = TensorDataset(*data)
    if not isinstance(data, Dataset) and not (hasattr(data, "__len__")
                                              and hasattr(data, "__getitem__")):
        raise TypeError(f"fit: {what} must be a DataLoader, a Dataset or a tuple (X, y); got "
                        f"{type(data).__name__}")
    return DataLoader(data, batch_size=batch_size, shuffle=shuffle, seed=seed)


def _split(batch, what):
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        raise ValueError(f"fit: each batch of {what} must be a pair (inputs, targets); got "
                         f"{type(batch).__name__} of length "
                         f"{len(batch) if hasattr(batch, '__len__') else '?'}")
    return batch


def _numpy(t):
    return t._data if isinstance(t, Tensor) else np.asarray(t)


def _host(t):
    """t's values as a NumPy array (copied from a device)."""
    return to_host(t._data) if isinstance(t, Tensor) else np.asarray(t)


def _model_device(model):
    """The device of the model's first parameter, None on the CPU (or with no parameters)."""
    for p in model.parameters():
        return None if type(p._data) is np.ndarray else p.device
    return None


def _on(t, dev):
    """A batch on the model's device (one copy per batch from a host loader)."""
    if not isinstance(t, Tensor):
        t = Tensor(np.asarray(t))
    return t.to(dev)


def _read_losses(state, pending, sizes, bar, x, y):
    """Read a logging interval's losses from the device at once (one synchronisation): their
    weighted values [loss * rows] to add up, or None after stopping at a non-finite one."""
    values = stack(pending).cpu().numpy().tolist()
    for v in values:
        if not math.isfinite(v):
            state.history.stop_reason = _non_finite_stop(state, v, x, y)
            return None
        bar.batch_end(v)
    return [v * n for v, n in zip(values, sizes)]


def _compute_metrics(metric_fns, targets, outputs, prefix):
    logs = {}
    for name, fn in metric_fns:
        logs[prefix + name] = float(fn(targets, outputs))
    return logs


def predict(model, X, batch_size=1024):
    """Model outputs for X in eval mode without recording a graph -> ndarray."""
    was_training = getattr(model, "training", False)
    if hasattr(model, "eval"):
        model.eval()
    X = _numpy(X)
    try:
        with _mode.no_grad():
            outs = [_numpy(model(from_array(X[i:i + batch_size])))
                    for i in range(0, X.shape[0], batch_size)]
    finally:
        if was_training:
            model.train()
    return np.concatenate(outs) if outs else np.zeros((0,))


def evaluate(model, loss_fn, data, metrics=(), batch_size=1024):
    """{"loss": mean loss, metric: value, ...} of `model` on data (a tuple (X, y) or loader)."""
    metric_fns = [get_metric(m) for m in metrics]
    loader = _loader(data, batch_size, False, None, "data")
    was_training = getattr(model, "training", False)
    if hasattr(model, "eval"):
        model.eval()
    total, count, outs, ys = 0.0, 0, [], []
    try:
        with _mode.no_grad():
            for batch in loader:
                x, y = _split(batch, "data")
                out = model(x)
                n = len(_numpy(y))
                total += float(loss_fn(out, y).item()) * n
                count += n
                outs.append(_numpy(out))
                ys.append(_numpy(y))
    finally:
        if was_training:
            model.train()
    if count == 0:
        raise ValueError("evaluate: data is empty")
    logs = {"loss": total / count}
    logs.update(_compute_metrics(metric_fns, np.concatenate(ys), np.concatenate(outs), ""))
    return logs


def _copy_arrays(tree):
    """Deep copy of a state tree, copying ndarrays and Tensors' data."""
    if isinstance(tree, Tensor):
        return from_array(tree._data.copy())
    if isinstance(tree, np.ndarray):
        return tree.copy()
    if isinstance(tree, dict):
        out = {k: _copy_arrays(v) for k, v in tree.items()}
        return Counter(out) if isinstance(tree, Counter) else out
    if isinstance(tree, list):
        return [_copy_arrays(v) for v in tree]
    if isinstance(tree, tuple):
        return tuple(_copy_arrays(v) for v in tree)
    return copy.deepcopy(tree)


class FitState:
    """What callbacks see: the objects being trained and where the loop is."""

    def __init__(self, model, loss_fn, optimizer, scheduler, loader, history, callbacks,
                 epochs):
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        self.scheduler, self.loader, self.history = scheduler, loader, history
        self.callbacks, self.epochs = callbacks, epochs
        self.epoch, self.batch_index, self.step, self.loss = 0, 0, 0, None
        self.stop_training = False
        self.forward_backward = None  # (x, y) -> (output, loss), set by fit
        self.eager_forward_backward = None  # the same, never compiled (for eager sampled steps)
        self.write = print  # prints a line without breaking the progress bar
        self.parallel = None  # fit(distributed=True): the data-parallel run (train/parallel.py)
        self.log_every = 50  # on a device: batches whose losses are read back at once

    def training_state(self):
        """Everything a resumed run needs: weights, optimizer, scheduler, history, RNG states."""
        return {
            "format": _STATE_FORMAT,
            "epoch": self.epoch,
            "step": self.step,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": None if self.scheduler is None else self.scheduler.state_dict(),
            "history": self.history.to_dict(),
            "rng": {"chainrule": _mode.default_generator().bit_generator.state,
                    "loader": self.loader.state_dict()},
            "callbacks": [{"class": type(c).__name__, "state": c.state_dict()}
                          for c in self.callbacks],
        }

    def load_training_state(self, state):
        """Restore a `training_state()` (as saved, or as loaded by cr.load)."""
        if not isinstance(state, dict) or state.get("format") != _STATE_FORMAT:
            got = f"keys {sorted(state)}" if isinstance(state, dict) else type(state).__name__
            raise ValueError("fit: resume expects a training checkpoint written by "
                             f"ModelCheckpoint (or FitState.training_state()); got {got}")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(_copy_arrays(state["optimizer"]))
        if self.scheduler is not None:
            if state["scheduler"] is None:
                raise ValueError("fit: the checkpoint was trained without a scheduler, but a "
                                 "scheduler was given to resume with")
            self.scheduler.load_state_dict(copy.deepcopy(state["scheduler"]))
        self.history = History.from_dict(state["history"])
        self.epoch, self.step = int(state["epoch"]), int(state["step"])
        _mode.default_generator().bit_generator.state = state["rng"]["chainrule"]
        self.loader.load_state_dict(state["rng"]["loader"])
        saved = state.get("callbacks") or []
        for c, s in zip(self.callbacks, saved):
            if s.get("class") == type(c).__name__:
                c.load_state_dict(s["state"])


def fit(model, loss_fn, optimizer, train_data, epochs=1, batch_size=32, val_data=None,
        metrics=(), callbacks=(), scheduler=None, seed=None, progress=True, shuffle=True,
        resume=None, compile_step=False, distributed=None, log_every=50):
    """Train `model` for `epochs` epochs and return the History of per-epoch logs.

    Args:
        loss_fn: loss(output, target) -> scalar Tensor, e.g. F.cross_entropy.
        train_data, val_data: a tuple (X, y) of arrays/Tensors, a Dataset or a DataLoader.
        metrics: names ("accuracy", "f1", "precision", "recall", "mse", "mae", "r2") or
            callables fn(y_true, output), computed on the training outputs of each epoch
            and on val_data ("val_" prefix).
        scheduler: an lr_scheduler, stepped once per epoch (ReduceLROnPlateau gets
            val_loss, or loss without val_data).
        seed: seeds the shuffling of train_data (else chainrule's generator is used).
        resume: a training checkpoint (path or loaded dict) from ModelCheckpoint; training
            continues after its epoch up to `epochs` in total.
        compile_step: run each batch's forward and backward pass through cr.compile: traced
            on the first batches of each shape, then replayed (the same numbers with less
            Python per batch; the model and loss must be traceable, see cr.compile).
        distributed: train data-parallel over the processes of cr.distributed (None: when a
            process group of more than one process is initialized). batch_size stays the
            global batch: each process takes its slice of every batch, gradients, losses and
            metrics are reduced, only rank 0 prints and writes checkpoints
            (docs/DISTRIBUTED.md).
        log_every: with the model on a device (model.to('cuda')), the batches' losses are
            read back every log_every batches at once (each read is a synchronisation): the
            progress bar and the non-finite-loss stop follow at that pace. On the CPU every
            batch's loss is read as it comes. Batches from a host loader are moved to the
            model's device.

    Logs per epoch: loss, metrics, val_loss, val_metrics, lr (at the start of the epoch)
    and time (seconds).

        >>> import chainrule as cr, chainrule.nn.functional as F
        >>> _ = cr.manual_seed(0)
        >>> X, y = cr.data.make_moons(200, seed=0)
        >>> model = cr.nn.Sequential(cr.nn.Linear(2, 16), cr.nn.ReLU(), cr.nn.Linear(16, 2))
        >>> opt = cr.optim.Adam(model.parameters(), lr=0.05)
        >>> h = cr.train.fit(model, F.cross_entropy, opt, (X, y), epochs=30, seed=0,
        ...                  metrics=["accuracy"], progress=False)
        >>> h["accuracy"][-1] > 0.95
        True
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"fit: epochs must be a non-negative integer; got {epochs!r}")
    metric_fns = [get_metric(m) for m in metrics]
    callbacks = list(callbacks or ())
    for c in callbacks:
        if not isinstance(c, Callback):
            raise TypeError(f"fit: callbacks must be Callback instances; got "
                            f"{type(c).__name__}")
    callbacks.sort(key=lambda c: c.order)
    loader = _loader(train_data, batch_size, shuffle, seed, "train_data")
    val_loader = None if val_data is None else _loader(val_data, 1024, False, None, "val_data")
    par = _data_parallel(distributed, model)
    if par is not None:
        loader = par.shard(loader)
        val_loader = None if val_loader is None else par.shard(val_loader)
    state = FitState(model, loss_fn, optimizer, scheduler, loader, History(), callbacks, epochs)
    state.parallel = par
    if isinstance(log_every, bool) or not isinstance(log_every, int) or log_every < 1:
        raise ValueError(f"fit: log_every must be a positive integer; got {log_every!r}")
    state.log_every = log_every
    state.forward_backward = _forward_backward(model if par is None else par.ddp, loss_fn,
                                               optimizer)
    state.eager_forward_backward = state.forward_backward
    for key in _log_keys(metric_fns, val_loader):  # so h["loss"] is [] if no epoch completes
        state.history.history.setdefault(key, [])
    if compile_step:
        from chainrule.compile import compile as _compile

        state.forward_backward = _compile(state.forward_backward)
    if par is not None:  # (the monitor's eager sampled steps are weighted by the slice too)
        state.forward_backward = par.step(state.forward_backward, optimizer)
        state.eager_forward_backward = par.step(state.eager_forward_backward, optimizer)
    if resume is not None:
        if not isinstance(resume, dict):
            from chainrule.train.checkpoint import load

            resume = load(resume)
        state.load_training_state(resume)
    if par is not None:
        par.start(state)
    bar = Progress(epochs, len(loader), enabled=progress and (par is None or par.rank == 0))
    state.write = bar.write if progress else print
    for c in callbacks:
        c.on_train_begin(state)
    last_good = _snapshot(state)
    try:
        for epoch in range(state.epoch + 1, epochs + 1):
            state.epoch = epoch
            logs = _run_epoch(state, metric_fns, val_loader, bar)
            if logs is None:  # non-finite loss: stop_reason is set
                _restore(state, last_good)
                break
            state.history.append(epoch, logs)
            for c in callbacks:
                c.on_epoch_end(state, logs)
            last_good = _snapshot(state)
            bar.epoch_end(epoch, logs)  # a printed epoch is one that Ctrl-C keeps
            if state.stop_training:
                break
    except KeyboardInterrupt:
        if par is not None:  # the job's collectives are half-done: the whole job stops
            raise
        running, kept = state.epoch, last_good["epoch"]  # (restoring rewinds state.epoch)
        _restore(state, last_good)
        when = f"during epoch {running}" if running > kept else f"after epoch {kept}"
        state.history.stop_reason = (f"interrupted (Ctrl-C) {when}; kept the state after "
                                     f"epoch {kept}")
    finally:
        bar.close()
    if state.history.stop_reason:
        bar.write(state.history.stop_reason)
    for c in callbacks:
        c.on_train_end(state)
    return state.history


def _data_parallel(distributed, model):
    """fit's data-parallel run (chainrule.train.parallel), or None to train in this process."""
    if distributed is not None and not isinstance(distributed, bool):
        raise TypeError(f"fit: distributed must be None, True or False; got {distributed!r}")
    from chainrule import distributed as dist

    if distributed is None:
        distributed = dist.is_initialized() and dist.get_world_size() > 1
    if not distributed:
        return None
    from chainrule.train.parallel import DataParallel

    return DataParallel(model)


def _forward_backward(model, loss_fn, optimizer):
    """One batch's (output, loss), with every parameter's gradient of the loss in .grad."""

    def forward_backward(x, y):
        out = model(x)
        loss = loss_fn(out, y)
        optimizer.zero_grad()
        loss.backward()
        return out, loss

    return forward_backward


def _run_epoch(state, metric_fns, val_loader, bar):
    model, optimizer, loss_fn, par = state.model, state.optimizer, state.loss_fn, state.parallel
    start = time.perf_counter()
    lr = float(optimizer.param_groups[0]["lr"])
    for c in state.callbacks:
        c.on_epoch_begin(state)
    bar.epoch_begin(state.epoch)
    model.train()
    total, count, outs, ys = 0.0, 0, [], []
    dev = _model_device(model)
    deferred = par is None and dev is not None  # on a device: read the losses per interval
    pending, sizes = [], []
    for batch_index, batch in enumerate(state.loader):
        state.batch_index = batch_index
        x, y = _split(batch, "train_data")
        if dev is not None:
            x, y = _on(x, dev), _on(y, dev)
        out, loss = state.forward_backward(x, y)
        if deferred:
            pending.append(loss.detach())
            value = None
        else:
            value = float(loss.item()) if par is None else par.batch_loss(loss)
            if not math.isfinite(value):
                state.history.stop_reason = _non_finite_stop(state, value, x, y)
                return None
        state.step += 1
        state.loss = loss
        for c in state.callbacks:
            c.on_after_backward(state)
        optimizer.step()
        n = len(_numpy(y)) if par is None else par.global_rows
        if deferred:
            sizes.append(n)
        else:
            total += value * n
        count += n
        if metric_fns and (par is None or par.local_rows):
            outs.append(_host(out).copy())
            ys.append(_host(y))
        for c in state.callbacks:
            c.on_batch_end(state)
        if not deferred:
            bar.batch_end(value)
        elif len(pending) >= state.log_every:
            weighted = _read_losses(state, pending, sizes, bar, x, y)
            if weighted is None:
                return None
            total += sum(weighted)
            pending, sizes = [], []
    if pending:
        weighted = _read_losses(state, pending, sizes, bar, x, y)
        if weighted is None:
            return None
        total += sum(weighted)
    if count == 0:
        raise ValueError("fit: train_data gave no batches (is it empty, or drop_last with "
                         "fewer rows than batch_size?)")
    logs = {"loss": total / count}
    if par is not None:
        par.epoch_end()
    if metric_fns:
        ys, outs = (np.concatenate(ys), np.concatenate(outs)) if par is None \
            else (par.gather(ys), par.gather(outs))
        logs.update(_compute_metrics(metric_fns, ys, outs, ""))
    if val_loader is not None:
        val = evaluate(model, loss_fn, val_loader, [m for _, m in metric_fns]) if par is None \
            else par.evaluate(model, loss_fn, val_loader, metric_fns)
        logs.update({f"val_{k}": v for k, v in zip(["loss"] + [n for n, _ in metric_fns],
                                                   val.values())})
    logs["lr"] = lr
    if state.scheduler is not None:
        if isinstance(state.scheduler, ReduceLROnPlateau):
            state.scheduler.step(logs.get("val_loss", logs["loss"]))
        else:
            state.scheduler.step()
    logs["time"] = time.perf_counter() - start
    return logs


def _log_keys(metric_fns, val_loader):
    names = ["loss"] + [name for name, _ in metric_fns]
    return names + ([f"val_{n}" for n in names] if val_loader is not None else []) + ["lr", "time"]


def _non_finite_stop(state, value, x, y):
    """The stop reason for a non-finite loss, with its cause: the data, the weights, or the first
    op that produced NaN/inf (rerun on a copy under detect_anomaly), and what to do about it."""
    from chainrule.inspect.nonfinite import explain_non_finite

    head = (f"stopped: the loss is {value} at epoch {state.epoch}, batch "
            f"{state.batch_index + 1}; kept the state after epoch {state.epoch - 1}")
    try:
        finding = explain_non_finite(state.model, state.loss_fn, x, y, trained_steps=state.step)
    except (ValueError, TypeError, RuntimeError, FloatingPointError) as e:
        return (f"{head}. Rerunning the batch under cr.inspect.detect_anomaly() failed ({e}); "
                "wrap the training step in it to find the op")
    message = finding.message[:1].upper() + finding.message[1:]
    return f"{head}. {message}. What to do: {finding.advice}"


def _snapshot(state):
    """A copy of the state at the end of an epoch, to return to after an interruption."""
    snap = _copy_arrays(state.training_state())
    snap.pop("history")
    snap["history_length"] = len(state.history)
    return snap


def _restore(state, snap):
    history, stop_reason = state.history, state.history.stop_reason
    snap = dict(snap, history=History().to_dict())
    state.load_training_state(snap)
    # keep the history object the caller may already hold, trimmed to the good epochs
    n = snap["history_length"]
    history.epoch = history.epoch[:n]
    history.history = {k: v[:n] for k, v in history.history.items()}
    history.stop_reason = stop_reason
    state.history = history
