"""Built-in datasets that need no download: scikit-learn's bundled sets and synthetic 2-D problems.

Loaders return (X, y) NumPy arrays: X float32 of shape (n_samples, n_features); y int64 class
labels (classification) or float32 targets (regression). Synthetic generators draw from
`seed` when given, else from chainrule's generator (`cr.manual_seed`).
"""

import math
from dataclasses import dataclass, field

import numpy as np

from chainrule.core import mode as _mode

_SKLEARN = ("digits", "iris", "breast_cancer", "wine", "diabetes")
_SYNTHETIC = ("xor", "moons", "circles", "spirals")


def _rng(seed, what):
    if seed is None:
        return _mode.default_generator()
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"{what}: seed must be a non-negative integer; got {seed!r}")
    return np.random.default_rng(int(seed))


def _check_count(n, what, minimum=1):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < minimum:
        raise ValueError(f"{what}: n_samples must be an integer >= {minimum}; got {n!r}")
    return int(n)


def _sklearn(name):
    try:
        from sklearn import datasets
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(f"load_{name}: needs scikit-learn (pip install 'chainrule[sklearn]')")\
            from None
    bunch = getattr(datasets, f"load_{name}")()
    return bunch


def _classification(name):
    bunch = _sklearn(name)
    return bunch.data.astype(np.float32), bunch.target.astype(np.int64)


def load_digits():
    """8x8 images of handwritten digits: X (1797, 64) in [0, 16], y in 0..9 (scikit-learn's)."""
    return _classification("digits")


def load_iris():
    """Fisher's iris: X (150, 4) flower measurements, y in 0..2 (scikit-learn's)."""
    return _classification("iris")


def load_breast_cancer():
    """Wisconsin breast cancer: X (569, 30) cell-nucleus features, y in {0, 1} (scikit-learn's)."""
    return _classification("breast_cancer")


def load_wine():
    """Wine recognition: X (178, 13) chemical analyses, y in 0..2 (scikit-learn's)."""
    return _classification("wine")


def load_diabetes():
    """Diabetes progression (regression): X (442, 10) scaled features, y (442,) float32."""
    bunch = _sklearn("diabetes")
    return bunch.data.astype(np.float32), bunch.target.astype(np.float32)


def make_xor(n_samples=400, noise=0.0, seed=None):
    """XOR: x ~ U[-1, 1]^2, y = 1 when x1 and x2 have opposite signs (not linearly separable)."""
    n = _check_count(n_samples, "make_xor")
    rng = _rng(seed, "make_xor")
    X = rng.uniform(-1.0, 1.0, size=(n, 2))
    y = ((X[:, 0] > 0) != (X[:, 1] > 0)).astype(np.int64)
    if noise:
        X = X + noise * rng.standard_normal(X.shape)
    return X.astype(np.float32), y


def make_moons(n_samples=400, noise=0.1, seed=None):
    """Two interleaving half circles (scikit-learn's make_moons, same formula)."""
    n = _check_count(n_samples, "make_moons", 2)
    rng = _rng(seed, "make_moons")
    n_out = n // 2
    n_in = n - n_out
    t_out, t_in = np.linspace(0, math.pi, n_out), np.linspace(0, math.pi, n_in)
    X = np.vstack([np.column_stack([np.cos(t_out), np.sin(t_out)]),
                   np.column_stack([1 - np.cos(t_in), 1 - np.sin(t_in) - 0.5])])
    y = np.concatenate([np.zeros(n_out, np.int64), np.ones(n_in, np.int64)])
    if noise:
        X = X + noise * rng.standard_normal(X.shape)
    order = rng.permutation(n)
    return X[order].astype(np.float32), y[order]


def make_circles(n_samples=400, noise=0.05, factor=0.5, seed=None):
    """A circle inside a circle of radius 1: inner radius `factor`, label 1 inside."""
    n = _check_count(n_samples, "make_circles", 2)
    if not 0 < factor < 1:
        raise ValueError(f"make_circles: factor must be in (0, 1); got {factor!r}")
    rng = _rng(seed, "make_circles")
    n_out = n // 2
    n_in = n - n_out
    t_out = np.linspace(0, 2 * math.pi, n_out, endpoint=False)
    t_in = np.linspace(0, 2 * math.pi, n_in, endpoint=False)
    X = np.vstack([np.column_stack([np.cos(t_out), np.sin(t_out)]),
                   factor * np.column_stack([np.cos(t_in), np.sin(t_in)])])
    y = np.concatenate([np.zeros(n_out, np.int64), np.ones(n_in, np.int64)])
    if noise:
        X = X + noise * rng.standard_normal(X.shape)
    order = rng.permutation(n)
    return X[order].astype(np.float32), y[order]


def make_spirals(n_samples=600, n_classes=2, turns=1.75, noise=0.2, seed=None):
    """Interleaved spiral arms: arm k at radius r has angle 2π(turns·r + k/n_classes) + noise."""
    n = _check_count(n_samples, "make_spirals", 2)
    if isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)) \
            or n_classes < 2:
        raise ValueError(f"make_spirals: n_classes must be an integer >= 2; got {n_classes!r}")
    rng = _rng(seed, "make_spirals")
    per_class = np.full(n_classes, n // n_classes)
    per_class[: n % n_classes] += 1
    X, y = [], []
    for k, m in enumerate(per_class):
        r = np.linspace(0.05, 1.0, m)
        theta = 2 * math.pi * (turns * r + k / n_classes) + noise * rng.standard_normal(m)
        X.append(np.column_stack([r * np.sin(theta), r * np.cos(theta)]))
        y.append(np.full(m, k, np.int64))
    X, y = np.vstack(X), np.concatenate(y)
    order = rng.permutation(n)
    return X[order].astype(np.float32), y[order]


_FUNCTIONS = {
    "sin": np.sin,
    "abs": np.abs,
    "step": lambda x: 1.0 / (1.0 + np.exp(-10.0 * x)),  # a smoothed step: sigmoid(10 x)
    "square": np.square,
    "relu": lambda x: np.maximum(x, 0.0),
}


def make_function_1d(fn="sin", n_samples=200, low=-math.pi, high=math.pi, noise=0.0,
                     random=False, seed=None):
    """Regression data y = f(x) (+ noise) on [low, high]: X and y both of shape (n, 1), float32.

    `fn` is a callable on ndarrays or one of "sin", "abs", "step" (sigmoid(10x)), "square",
    "relu". x is an even grid unless random=True (uniform draws).

        >>> import chainrule as cr
        >>> X, y = cr.data.make_function_1d("abs", n_samples=3, low=-1, high=1)
        >>> y.ravel().tolist()
        [1.0, 0.0, 1.0]
    """
    n = _check_count(n_samples, "make_function_1d", 2)
    if isinstance(fn, str):
        if fn not in _FUNCTIONS:
            raise ValueError(f"make_function_1d: unknown function {fn!r}; choose one of "
                             f"{sorted(_FUNCTIONS)} or pass a callable")
        fn = _FUNCTIONS[fn]
    elif not callable(fn):
        raise TypeError(f"make_function_1d: fn must be a callable or a name; got "
                        f"{type(fn).__name__}")
    if not high > low:
        raise ValueError(f"make_function_1d: need low < high; got low={low!r}, high={high!r}")
    rng = _rng(seed, "make_function_1d") if (random or noise) else None
    x = np.sort(rng.uniform(low, high, n)) if random else np.linspace(low, high, n)
    y = np.asarray(fn(x), dtype=np.float64)
    if y.shape != x.shape:
        raise ValueError(f"make_function_1d: fn must map shape {x.shape} to the same shape; "
                         f"got {y.shape}")
    if noise:
        y = y + noise * rng.standard_normal(n)
    return x[:, None].astype(np.float32), y[:, None].astype(np.float32)


@dataclass
class LoadedDataset:
    """A dataset by name: X, y, its task, and names for the classes and features."""

    name: str
    X: np.ndarray
    y: np.ndarray
    task: str  # "classification" or "regression"
    target_names: list = field(default_factory=list)
    feature_names: list = field(default_factory=list)


def available_datasets():
    """Names accepted by load_dataset (and `chainrule train --dataset`)."""
    return list(_SKLEARN + _SYNTHETIC)


def load_dataset(name, seed=0):
    """Load a built-in dataset by name -> LoadedDataset (synthetic ones drawn with `seed`)."""
    if name in _SKLEARN:
        if name == "diabetes":
            X, y = load_diabetes()
            return LoadedDataset(name, X, y, "regression")
        bunch = _sklearn(name)
        X, y = bunch.data.astype(np.float32), bunch.target.astype(np.int64)
        return LoadedDataset(name, X, y, "classification",
                             [str(t) for t in bunch.target_names],
                             [str(f) for f in getattr(bunch, "feature_names", [])])
    makers = {"xor": make_xor, "moons": make_moons, "circles": make_circles,
              "spirals": make_spirals}
    if name not in makers:
        raise ValueError(f"load_dataset: unknown dataset {name!r}; choose one of "
                         f"{available_datasets()}")
    X, y = makers[name](seed=seed)
    return LoadedDataset(name, X, y, "classification", [str(k) for k in np.unique(y)],
                         ["x1", "x2"])
