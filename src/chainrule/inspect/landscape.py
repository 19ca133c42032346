"""Loss landscapes: the loss on a line or a plane through parameter space.

L(theta + a d1 + b d2) along random directions with filter normalisation (Li, Xu, Taylor, Studer
& Goldstein, 2018): each filter (row of a weight) of a direction gets the norm of the same filter
of theta, so the picture does not depend on how each layer happens to be scaled. Or the line
(1 - t) theta_A + t theta_B between two parameter vectors.
"""

from dataclasses import dataclass

import numpy as np

from chainrule._device import require_host as _require_host
from chainrule.core import mode as _mode
from chainrule.core.tensor import Tensor, from_array
from chainrule.optimize._progress import progress_bar


@dataclass
class Landscape:
    """Losses on a grid: losses[i] at alphas[i] (1-D) or losses[i, j] at (alphas[i], betas[j])."""

    alphas: np.ndarray
    losses: np.ndarray
    betas: np.ndarray | None = None
    directions: list | None = None  # one or two lists of arrays shaped like the parameters


def _params(model):
    if not hasattr(model, "parameters"):
        raise TypeError(f"loss_landscape: expected a Module; got {type(model).__name__}")
    params = list(model.parameters())
    if not params:
        raise ValueError("loss_landscape: the model has no parameters")
    return params


def _batches(data):
    """(X, y) or an iterable of (X, y) batches."""
    if isinstance(data, tuple) and len(data) == 2 and not isinstance(data[0], tuple):
        return [data]
    return list(data)


def _evaluate(model, loss_fn, batches):
    """The sample-weighted mean loss over the batches, without recording a graph."""
    total, count = 0.0, 0
    with _mode.no_grad():
        for X, y in batches:
            X = X if isinstance(X, Tensor) else from_array(np.asarray(X))
            y = y if isinstance(y, Tensor) else from_array(np.asarray(y))
            n = X.shape[0] if X.ndim else 1
            total += float(loss_fn(model(X), y).item()) * n
            count += n
    return total / count


def random_directions(model, normalize="filter", seed=0):
    """A Gaussian direction shaped like the parameters, scaled as Li et al. (2018).

    ``normalize='filter'``: each row d_i of a weight is rescaled to ||theta_i||, and 1-D
    parameters (biases, norm scales) get 0, as in their code; ``'layer'``: each parameter as a
    whole gets ||theta||; None: no scaling.
    """
    if normalize not in ("filter", "layer", None):
        raise ValueError(f"random_directions: normalize must be 'filter', 'layer' or None; got "
                         f"{normalize!r}")
    rng = np.random.default_rng(seed)
    directions = []
    for p in _params(model):
        theta = np.asarray(p.numpy(), dtype=np.float64)
        d = rng.standard_normal(theta.shape)
        if normalize == "filter":
            if theta.ndim <= 1:
                d = np.zeros_like(theta)
            else:
                axes = tuple(range(1, theta.ndim))
                scale = np.sqrt((theta ** 2).sum(axis=axes, keepdims=True))
                d *= scale / (np.sqrt((d ** 2).sum(axis=axes, keepdims=True)) + 1e-10)
        elif normalize == "layer":
            d *= np.linalg.norm(theta) / (np.linalg.norm(d) + 1e-10)
        directions.append(d)
    return directions


class _Shifted:
    """Temporarily set the parameters to theta + sum_k c_k d_k, in place; restore on exit."""

    def __init__(self, params):
        self.params = params
        self.base = [np.array(p.numpy(), dtype=np.float64) for p in params]

    def set(self, coefficients, directions):
        from chainrule.core.tensor import bump_version

        for i, p in enumerate(self.params):
            value = self.base[i].copy()
            for c, d in zip(coefficients, directions):
                value += c * d[i]
            np.copyto(p.numpy(), value, casting="unsafe")
            bump_version(p)

    def restore(self):
        self.set((), ())


def _grid(span, steps):
    if not isinstance(steps, (int, np.integer)) or steps < 2:
        raise ValueError(f"loss_landscape: steps must be an integer >= 2; got {steps!r}")
    lo, hi = (-span, span) if np.isscalar(span) else span
    return np.linspace(float(lo), float(hi), int(steps))


def loss_landscape(model, loss_fn, data, dim=1, steps=25, span=1.0, directions=None,
                   normalize="filter", seed=0, progress=None):
    """L(theta + a d1) on a line (dim=1) or L(theta + a d1 + b d2) on a plane (dim=2).

    ``loss_fn(model(X), y)`` is evaluated on ``data`` ((X, y) or a list of batches) at
    ``steps`` points per axis over ``span`` (a half-width, or a (lo, hi) pair). Directions are
    filter-normalised random ones unless given (a list of per-parameter arrays, one per
    axis). The parameters are restored afterwards. progress: a tqdm bar of the grid points
    (None: only on a terminal, True: always, False: never).
    """
    _require_host("loss_landscape", model)
    if dim not in (1, 2):
        raise ValueError(f"loss_landscape: dim must be 1 or 2; got {dim!r}")
    params = _params(model)
    if directions is None:
        directions = [random_directions(model, normalize, seed + k) for k in range(dim)]
    if len(directions) != dim:
        raise ValueError(f"loss_landscape: need {dim} direction(s) for dim={dim}; got "
                         f"{len(directions)}")
    for d in directions:
        if len(d) != len(params) or any(np.shape(a) != p.shape for a, p in zip(d, params)):
            raise ValueError("loss_landscape: each direction must be a list of arrays shaped "
                             f"like the parameters {[p.shape for p in params]}")
    batches = _batches(data)
    alphas = _grid(span, steps)
    shifted = _Shifted(params)
    bar = progress_bar(len(alphas) ** dim, "loss_landscape", progress, unit="point")
    try:
        if dim == 1:
            losses = np.empty(len(alphas))
            for i, a in enumerate(alphas):
                shifted.set((a,), directions)
                losses[i] = _evaluate(model, loss_fn, batches)
                bar.update(1)
            return Landscape(alphas, losses, None, directions)
        losses = np.empty((len(alphas), len(alphas)))
        for i, a in enumerate(alphas):
            for j, b in enumerate(alphas):
                shifted.set((a, b), directions)
                losses[i, j] = _evaluate(model, loss_fn, batches)
                bar.update(1)
        return Landscape(alphas, losses, alphas.copy(), directions)
    finally:
        bar.close()
        shifted.restore()


def _flat(fname, value, params):
    if hasattr(value, "parameters"):
        value = np.concatenate([np.asarray(p.numpy(), dtype=np.float64).reshape(-1)
                                for p in value.parameters()])
    value = np.asarray(value.numpy() if isinstance(value, Tensor) else value, dtype=np.float64)
    n = sum(p.size for p in params)
    if value.shape != (n,):
        raise ValueError(f"{fname}: a parameter vector must have shape ({n},), the model's "
                         f"parameter count; got {value.shape}")
    return value


def interpolate(model, loss_fn, data, start, end, steps=25, margin=0.25):
    """L((1 - t) theta_start + t theta_end) at `steps` points of [0, 1], extended by `margin`.

    ``start`` and ``end`` are flat parameter vectors (e.g. nn.utils.parameters_to_vector) or
    Modules of the same architecture; the model's own parameters are restored afterwards.
    """
    params = _params(model)
    a, b = _flat("interpolate", start, params), _flat("interpolate", end, params)
    offsets = np.cumsum([0] + [p.size for p in params])
    pieces = [(b - a)[offsets[i]:offsets[i + 1]].reshape(p.shape) for i, p in enumerate(params)]
    base = [a[offsets[i]:offsets[i + 1]].reshape(p.shape) for i, p in enumerate(params)]
    if not isinstance(steps, (int, np.integer)) or steps < 2 or margin < 0:
        raise ValueError(f"interpolate: need an integer steps >= 2 and margin >= 0; got "
                         f"steps={steps!r}, margin={margin!r}")
    batches = _batches(data)
    extra = int(round(margin * (steps - 1)))  # same spacing outside [0, 1]; 0 and 1 on the grid
    ts = np.arange(-extra, steps + extra) / (steps - 1)
    shifted = _Shifted(params)
    saved = shifted.base
    shifted.base = base
    losses = np.empty(len(ts))
    try:
        for i, t in enumerate(ts):
            shifted.set((t,), [pieces])
            losses[i] = _evaluate(model, loss_fn, batches)
    finally:
        shifted.base = saved
        shifted.restore()
    return Landscape(ts, losses, None, [pieces])
