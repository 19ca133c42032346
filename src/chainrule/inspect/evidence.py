"""Evidence for diagnose: what one forward and backward pass, and a few optimizer steps, show.

Everything runs on a copy of the model (and of the optimizer): forward hooks on its leaf modules
record, in call order, each weight layer's input and output scale and the activation that
follows it (the fraction of dead ReLU units, of saturated sigmoid/tanh values); `.grad` after
backward gives the gradient norms; one real optimizer step gives the update ratio ||dW||/||W||.
The user's model, optimizer, random generator and data loader are never touched.
"""

import copy
import math
from dataclasses import dataclass, field

import numpy as np

import chainrule as cr
from chainrule.core import mode as _mode
from chainrule.inspect import anomaly

# activation modules by what can go wrong with them
DEAD_CAPABLE = ("ReLU", "ReLU6")
SATURATING = ("Sigmoid", "Tanh", "Hardtanh", "Hardsigmoid")
ACTIVATIONS = DEAD_CAPABLE + SATURATING + ("LeakyReLU", "ELU", "GELU", "SiLU", "Softplus",
                                           "Mish", "Sin")
NORMALIZATION = ("BatchNorm1d", "BatchNorm2d", "LayerNorm", "GroupNorm")
SATURATED_SLOPE = 0.05  # a value is saturated where the activation's slope < 5% of its peak


@dataclass
class LayerEvidence:
    """One weight layer (a module with a weight of ndim >= 2) seen in the forward pass."""

    name: str  # module path, e.g. "0" or "encoder.fc1"
    index: int  # 1-based position among the weight layers, in the order of the forward pass
    kind: str  # e.g. "Linear(64 -> 128)"
    fan_in: int
    units: int
    weight_std: float
    weight_norm: float
    input_rms: float
    output_rms: float  # of the layer's output, the pre-activation
    output_spread: float  # its spread over the samples: sqrt(mean over units of Var over samples)
    activation: str | None = None  # class name of the activation module applied next
    dead_fraction: float | None = None  # ReLU units that output 0 for every sample
    alive: np.ndarray | None = field(default=None, repr=False)  # per unit: nonzero somewhere
    saturated_fraction: float | None = None  # sigmoid/tanh values where the slope < 5% of peak
    grad_norm: float | None = None  # ||dL/dW|| of the weight
    update_ratio: float | None = None  # ||dW|| / ||W|| of one real optimizer step


@dataclass
class ParamEvidence:
    """One parameter's norms: ||w||, ||dL/dw|| and ||dw|| of one optimizer step."""

    name: str
    shape: tuple
    weight_norm: float
    grad_norm: float | None = None
    update_norm: float | None = None
    finite: bool = True


@dataclass
class Task:
    """What the loss is: 'classification' (C classes), 'binary', 'regression' or None."""

    kind: str | None = None
    classes: int | None = None
    chance: float | None = None  # the loss of a model that knows nothing: log C, or Var(y)
    chance_text: str = ""


@dataclass
class Evidence:
    """Everything diagnose measured; findings are computed from it."""

    batch_size: int = 0
    loss: float | None = None
    task: Task = field(default_factory=Task)
    reduction: str | None = None  # 'mean' or 'sum', as the loss behaves on half batches
    input_spread: float | None = None  # spread of the inputs over the samples
    input_scales: np.ndarray | None = None  # per-feature RMS of the inputs
    input_constant: np.ndarray | None = None  # features with zero spread
    layers: list = field(default_factory=list)
    params: list = field(default_factory=list)
    modules_in_eval: list = field(default_factory=list)  # Dropout/BatchNorm in eval mode
    softmax_module: str | None = None  # a Softmax module whose output is the model's output
    trained_steps: int = 0  # optimizer steps already taken, from its state
    lr: float | None = None
    losses: list = field(default_factory=list)  # per step on the copy, on the probe batch
    heldout: tuple | None = None  # (loss before, loss after) the steps, on held-out samples
    sweep: dict = field(default_factory=dict)  # lr multiplier -> loss after the steps
    sharpness: float | None = None  # lambda_max of the loss Hessian on the probe batch
    sharpness_bound: float | None = None  # the optimizer's stability bound (2/lr for SGD)
    stale_grad_ratio: float | None = None  # ||held .grad|| / max per-sample ||grad||
    seconds: float = 0.0


# ---- data ---------------------------------------------------------------------------------
def _array(x):
    if isinstance(x, cr.Tensor):
        return x.numpy()
    return np.asarray(x)


def data_arrays(data, what="data"):
    """(inputs, targets) ndarrays of all rows of a pair, a Dataset or a DataLoader's dataset.

    A DataLoader is read through its dataset, so its shuffling generator is not advanced.
    """
    if isinstance(data, cr.data.DataLoader):
        data = data.dataset
    if isinstance(data, cr.data.TensorDataset):
        if len(data.tensors) != 2:
            raise ValueError(f"diagnose: {what} must hold (inputs, targets); got a "
                             f"TensorDataset of {len(data.tensors)} arrays")
        return data.tensors[0], data.tensors[1]
    if isinstance(data, (tuple, list)):
        if len(data) != 2:
            raise ValueError(f"diagnose: {what} must be a pair (inputs, targets), a Dataset or "
                             f"a DataLoader; got a {type(data).__name__} of length {len(data)}")
        X, y = _array(data[0]), _array(data[1])
        if X.ndim == 0 or y.ndim == 0 or len(X) != len(y):
            raise ValueError(f"diagnose: {what} inputs and targets must have the same number of "
                             f"rows; got shapes {X.shape} and {y.shape}")
        return X, y
    if hasattr(data, "__len__") and hasattr(data, "__getitem__"):
        return _Rows(data)
    raise TypeError(f"diagnose: {what} must be a pair (inputs, targets), a Dataset or a "
                    f"DataLoader; got {type(data).__name__}")


class _Rows:
    """A map-style dataset read row by row (only the rows a probe needs)."""

    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self):
        return len(self.dataset)

    def take(self, idx):
        samples = [self.dataset[int(i)] for i in idx]
        if not isinstance(samples[0], (tuple, list)) or len(samples[0]) != 2:
            raise ValueError("diagnose: each sample of the dataset must be a pair (input, "
                             f"target); got {type(samples[0]).__name__}")
        return (np.stack([_array(s[0]) for s in samples]),
                np.stack([_array(s[1]) for s in samples]))


def probe_rows(data, batch_size, seed, what="data"):
    """Two disjoint random row samples (probe, held-out) of up to batch_size rows each, and the
    first row with a NaN or inf input (None if none; only arrays are searched whole).

    Drawn from a local generator seeded with `seed`: chainrule's generator is not used.
    """
    arrays = data_arrays(data, what)
    n = len(arrays) if isinstance(arrays, _Rows) else len(arrays[0])
    if n == 0:
        raise ValueError(f"diagnose: {what} is empty")
    order = np.random.default_rng(seed).permutation(n)
    first = np.sort(order[:batch_size])
    second = np.sort(order[batch_size:2 * batch_size])
    if isinstance(arrays, _Rows):
        a = arrays.take(first)
        b = arrays.take(second) if second.size else None
        bad = None
    else:
        X, y = arrays
        a = (X[first], y[first])
        b = (X[second], y[second]) if second.size else None
        bad = None
        if X.dtype.kind == "f":
            rows = np.flatnonzero(~np.isfinite(X.reshape(len(X), -1)).all(axis=1))
            bad = X[rows] if rows.size else None
    return a, b, bad


# ---- copies -------------------------------------------------------------------------------
def training_copy(model, optimizer=None):
    """Independent copies of the model and of the optimizer over the copy's parameters."""
    memo = {}
    model_copy = copy.deepcopy(model, memo)
    opt_copy = None if optimizer is None else copy.deepcopy(optimizer, memo)
    return model_copy, opt_copy


class kept_generator:
    """Run with chainrule's generator seeded by `seed` (None: as it is), then give it its exact
    state back."""

    def __init__(self, seed=None):
        self.seed = seed

    def __enter__(self):
        gen = _mode.default_generator()
        self._gen, self._state = gen, gen.bit_generator.state
        if self.seed is not None:
            gen.bit_generator.state = type(gen.bit_generator)(self.seed).state
        return gen

    def __exit__(self, *exc):
        self._gen.bit_generator.state = self._state
        return False


def trained_steps(optimizer):
    """Steps the optimizer has taken, from its 'step' state: 0 for a fresh optimizer, None
    when it holds state without a counter (SGD's momentum buffers). Plain SGD keeps no state,
    so for it this is always 0."""
    if optimizer is None:
        return 0
    states = [s for s in optimizer.state.values() if isinstance(s, dict) and s]
    counts = [s["step"] for s in states if "step" in s]
    if counts:
        return int(max(float(c.item() if isinstance(c, cr.Tensor) else c) for c in counts))
    return None if states else 0


def learning_rate(optimizer):
    if optimizer is None or not optimizer.param_groups:
        return None
    lr = optimizer.param_groups[0].get("lr")
    return float(lr.item() if isinstance(lr, cr.Tensor) else lr) if lr is not None else None


def scale_lr(optimizer, factor):
    for group in optimizer.param_groups:
        group["lr"] = float(group["lr"]) * factor


# ---- one forward and backward pass with the layers watched ----------------------------------
def _rms(a):
    """sqrt(mean(a^2)) over the finite values (in float64: float32 squares overflow at 1e19)."""
    a = np.asarray(a, dtype=np.float64)
    value = float(np.sqrt(np.mean(a * a))) if a.size else float("nan")
    if math.isfinite(value) or not a.size:
        return value
    finite = a[np.isfinite(a)]
    return float(np.sqrt(np.mean(finite * finite))) if finite.size else float("nan")


def spread(a):
    """sqrt(mean over features of the variance over samples): how much a depends on the input."""
    a = np.asarray(a, dtype=np.float64)
    if a.ndim < 1 or len(a) < 2:
        return float("nan")
    flat = a.reshape(len(a), -1)
    return float(np.sqrt(np.mean(flat.var(axis=0))))


def _norm(a):
    """||a||_2, summed in float64 (float32 squares overflow at 1e19)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1)
    return math.sqrt(float(a @ a))


def _weight(module):
    w = getattr(module, "_parameters", {}).get("weight")
    return w if w is not None and w.ndim >= 2 else None


def _kind(module, w):
    name = type(module).__name__
    if name == "Linear":
        return f"Linear({w.shape[1]} -> {w.shape[0]})"
    return f"{name}{tuple(w.shape)}"


def _saturated(name, a):
    """Fraction of values where the activation's slope is below 5% of its peak."""
    if name in ("Sigmoid", "Hardsigmoid"):
        slope = 4.0 * a * (1.0 - a)  # sigma' = a (1 - a), peak 1/4
    else:
        slope = 1.0 - a * a  # tanh' = 1 - a^2, peak 1
    return float(np.mean(slope < SATURATED_SLOPE))


def _alive(a):
    """Per unit (axis 1): whether its output is nonzero for some sample or position."""
    if a.ndim < 2 or a.shape[0] == 0:
        return None
    return np.moveaxis(a != 0, 1, 0).reshape(a.shape[1], -1).any(axis=1)


class watch:
    """Forward hooks on the leaf modules of `model`: weight layers and their activations.

    With scope=True the names of the running modules are also pushed onto `anomaly.scope`
    while it is open, so an AnomalyError names the module whose forward created the op. With
    detail=False only what the activation checks need is measured (the weight and input
    statistics are NaN): the training monitor's cheap path.
    """

    def __init__(self, model, scope=True, detail=True):
        self.model, self.scope, self.detail = model, scope, detail
        self.layers = {}  # name -> LayerEvidence, in call order
        self.last_leaf = None  # (name, class name) of the last leaf module that ran
        self._current = None
        self._handles = []

    def __enter__(self):
        for name, module in self.model.named_modules():
            leaf = not any(True for _ in module.children())
            seen = leaf and (_weight(module) is not None or type(module).__name__ in
                             ACTIVATIONS + ("Softmax",) or self.scope)
            if self.scope:
                self._handles.append(module.register_forward_pre_hook(self._enter(name)))
            if self.scope or seen:
                self._handles.append(module.register_forward_hook(self._exit(name, leaf)))
        return self

    def __exit__(self, *exc):
        for h in self._handles:
            h.remove()
        if self.scope:
            del anomaly.scope[:]
        return False

    def _enter(self, name):
        def hook(module, args):
            anomaly.scope.append(name or type(module).__name__)
        return hook

    def _exit(self, name, leaf):
        def hook(module, args, out):
            if self.scope and anomaly.scope:
                anomaly.scope.pop()
            if leaf and isinstance(out, cr.Tensor):
                self._record(name, module, args, out)
        return hook

    def _record(self, name, module, args, out):
        cls = type(module).__name__
        self.last_leaf = (name, cls)
        w = _weight(module)
        if w is not None:
            if name in self.layers:  # a shared layer: the first call speaks for it
                self._current = None
                return
            x = args[0] if args else None
            nan = float("nan")
            detail = self.detail
            wv = w.numpy() if detail else None
            self._current = self.layers[name] = LayerEvidence(
                name=name, index=len(self.layers) + 1, kind=_kind(module, w),
                fan_in=int(np.prod(w.shape[1:])), units=int(w.shape[0]),
                weight_std=float(np.std(wv)) if detail else nan,
                weight_norm=_norm(wv) if detail else nan,
                input_rms=_rms(x.numpy()) if detail and isinstance(x, cr.Tensor) else nan,
                output_rms=_rms(out.numpy()),
                output_spread=spread(out.numpy()) if detail else nan)
            return
        layer = self._current
        if layer is None or cls not in ACTIVATIONS or layer.activation is not None:
            return
        a = out.numpy()
        layer.activation = cls
        if cls in DEAD_CAPABLE:
            layer.alive = _alive(a)
            layer.dead_fraction = None if layer.alive is None else float(1 - layer.alive.mean())
        elif cls in SATURATING:
            layer.saturated_fraction = _saturated(cls, a)


def forward_backward(model, loss_fn, x, y):
    """(output, loss) of one pass with every parameter's gradient in .grad (zeroed first)."""
    model.zero_grad()
    out = model(x)
    loss = loss_fn(out, y)
    if not isinstance(loss, cr.Tensor) or loss.numel() != 1:
        raise ValueError(f"diagnose: loss_fn(output, target) must return a scalar Tensor; got "
                         f"{getattr(loss, 'shape', type(loss).__name__)}")
    loss.backward()
    return out, loss


def parameter_evidence(model):
    """ParamEvidence of every named parameter: weight norm, gradient norm if any."""
    out = []
    for name, p in model.named_parameters():
        w = p.numpy()
        g = None if p.grad is None else p.grad.numpy()
        finite = bool(np.isfinite(w).all() and (g is None or np.isfinite(g).all()))
        out.append(ParamEvidence(name, tuple(p.shape), _norm(w), None if g is None else _norm(g),
                                 finite=finite))
    return out


def update_norms(model, optimizer):
    """Take one optimizer step (gradients already in .grad): {name: ||w_after - w_before||}."""
    before = {name: p.numpy().copy() for name, p in model.named_parameters()}
    optimizer.step()
    return {name: _norm(p.numpy().astype(np.float64) - before[name].astype(np.float64))
            for name, p in model.named_parameters()}
