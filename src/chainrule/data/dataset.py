"""Datasets and batching: Dataset, TensorDataset, DataLoader, train_test_split, standardize.

Names and semantics follow torch.utils.data (Dataset, TensorDataset, DataLoader) and
scikit-learn (train_test_split). Every shuffle draws from an explicit seed or from chainrule's
generator (`cr.manual_seed`), so runs are reproducible bit for bit.
"""

import numpy as np

from chainrule.core import mode as _mode
from chainrule.core.tensor import Tensor, from_array


def _as_array(x, what):
    """The ndarray behind a Tensor, ndarray or nested list (no copy when already an array)."""
    if isinstance(x, Tensor):
        return x._data
    if isinstance(x, np.ndarray):
        return x
    try:
        return np.asarray(x)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{what}: expected an array-like; got {type(x).__name__} ({e})") from None


def _generator(seed, what):
    """A numpy Generator from a seed (int), a Generator, or None (chainrule's generator)."""
    if seed is None:
        return None
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"{what}: seed must be a non-negative integer or a numpy Generator; "
                         f"got {seed!r}")
    return np.random.default_rng(int(seed))


class Dataset:
    """Base class of map-style datasets: subclasses define __len__ and __getitem__(index)."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__}: __getitem__ is not defined")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__}: __len__ is not defined")


class TensorDataset(Dataset):
    """Samples are rows of equally long arrays: dataset[i] = (X[i], y[i], ...).

        >>> import numpy as np, chainrule as cr
        >>> ds = cr.data.TensorDataset(np.zeros((5, 2)), np.arange(5))
        >>> len(ds), int(ds[3][1])
        (5, 3)
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset: needs at least one array")
        arrays = tuple(_as_array(t, "TensorDataset") for t in tensors)
        lengths = [a.shape[0] if a.ndim else None for a in arrays]
        if None in lengths or len(set(lengths)) != 1:
            raise ValueError("TensorDataset: all arrays must have the same first dimension; got "
                             f"shapes {[a.shape for a in arrays]}")
        self.tensors = arrays

    def __getitem__(self, index):
        return tuple(from_array(np.asarray(a[index])) for a in self.tensors)  # Tensors, as torch

    def __len__(self):
        return self.tensors[0].shape[0]


class DataLoader:
    """Iterate over a dataset in batches of Tensors: for X, y in DataLoader(ds, batch_size=32).

    shuffle=True draws a new permutation every epoch, from a generator seeded with `seed` (or
    given as `generator`), else from chainrule's generator (`cr.manual_seed`). A TensorDataset
    (or a tuple of arrays) is batched by fancy indexing, without a Python loop over samples.
    `state_dict()` holds the shuffling generator's state, so a resumed run draws the same batches.
    `sampler` (e.g. cr.data.DistributedSampler) gives the order of the rows instead.
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, seed=None,
                 generator=None, sampler=None, *, batch_sampler=None, collate_fn=None,
                 num_workers=0, pin_memory=False, timeout=0, worker_init_fn=None,
                 persistent_workers=False, prefetch_factor=None, in_order=True):
        # torch's worker options are accepted and ignored: batches load in this process
        self.batch_sampler, self.collate_fn, self.num_workers = batch_sampler, collate_fn, 0
        if batch_sampler is not None and (shuffle or sampler is not None or drop_last
                                          or batch_size != 1):
            raise ValueError("DataLoader: batch_sampler is mutually exclusive with batch_size, "
                             "shuffle, sampler and drop_last")
        if hasattr(generator, "_rng"):  # a cr.Generator
            generator = generator._rng
        if isinstance(dataset, (tuple, list)):
            dataset = TensorDataset(*dataset)
        if not hasattr(dataset, "__len__") or not hasattr(dataset, "__getitem__"):
            raise TypeError(f"DataLoader: dataset must define __len__ and __getitem__; got "
                            f"{type(dataset).__name__}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive integer; "
                             f"got {batch_size!r}")
        if seed is not None and generator is not None:
            raise ValueError("DataLoader: give seed or generator, not both")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler and shuffle=True are mutually exclusive (the "
                             "sampler gives the order; shuffle it there)")
        if sampler is not None and not (hasattr(sampler, "__iter__")
                                        and hasattr(sampler, "__len__")):
            raise TypeError(f"DataLoader: sampler must define __iter__ and __len__; got "
                            f"{type(sampler).__name__}")
        self.sampler = sampler
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.generator = _generator(seed if generator is None else generator, "DataLoader")

    def __len__(self):
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        n = len(self.dataset) if self.sampler is None else len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _order(self):
        if self.sampler is not None:
            return np.fromiter(iter(self.sampler), dtype=np.int64)
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n)
        rng = self.generator if self.generator is not None else _mode.default_generator()
        return rng.permutation(n)

    def index_batches(self):
        """The row indices of this epoch's batches, one array per batch (draws the shuffle)."""
        if self.batch_sampler is not None:
            return [np.asarray(list(b), dtype=np.int64) for b in self.batch_sampler]
        order = self._order()
        n, b = len(order), self.batch_size
        stop = n - n % b if self.drop_last else n
        return [order[start:start + b] for start in range(0, stop, b)]

    def fetch(self, idx):
        """The batch of rows `idx`, as iterating yields it (a Tensor or a tuple of Tensors)."""
        if self.collate_fn is not None:
            return self.collate_fn([self.dataset[int(i)] for i in idx])
        if isinstance(self.dataset, TensorDataset):  # a tuple per batch, even of one field
            return tuple(from_array(a[idx]) for a in self.dataset.tensors)
        samples = [self.dataset[int(i)] for i in idx]
        batch = _collate(samples)
        return batch if isinstance(samples[0], (tuple, list)) else batch[0]

    def __iter__(self):
        for idx in self.index_batches():
            yield self.fetch(idx)

    def state_dict(self):
        """The shuffling generator's state (None when shuffles come from chainrule's generator)."""
        if self.generator is None:
            return {"generator": None}
        return {"generator": self.generator.bit_generator.state}

    def load_state_dict(self, state_dict):
        """Restore the generator state saved by `state_dict()`."""
        state = state_dict.get("generator") if isinstance(state_dict, dict) else None
        if state is None:
            return
        if self.generator is None:
            self.generator = np.random.default_rng()
        self.generator.bit_generator.state = state


def _collate(samples):
    """Stack a list of samples (each a tuple of fields, or one array) into a tuple of Tensors."""
    first = samples[0]
    if not isinstance(first, (tuple, list)):
        return (from_array(np.stack([_as_array(s, "DataLoader") for s in samples])),)
    return tuple(from_array(np.stack([_as_array(s[k], "DataLoader") for s in samples]))
                 for k in range(len(first)))


def train_test_split(*arrays, test_size=0.25, shuffle=True, stratify=None, seed=None):
    """Split arrays into train and test rows (scikit-learn's order: X_train, X_test, y_train, ...).

    `test_size` is a fraction in (0, 1) or a number of rows. `stratify=y` keeps the class
    proportions of y in both parts. `seed` (int) makes the split reproducible; None draws
    from chainrule's generator.

        >>> import numpy as np, chainrule as cr
        >>> X_tr, X_te, y_tr, y_te = cr.data.train_test_split(np.arange(10), np.arange(10),
        ...                                                   test_size=0.2, seed=0)
        >>> len(X_tr), len(X_te)
        (8, 2)
    """
    if not arrays:
        raise ValueError("train_test_split: needs at least one array")
    arrays = [_as_array(a, "train_test_split") for a in arrays]
    n = arrays[0].shape[0] if arrays[0].ndim else 0
    if any(a.ndim == 0 or a.shape[0] != n for a in arrays):
        raise ValueError("train_test_split: all arrays must have the same number of rows; got "
                         f"shapes {[a.shape for a in arrays]}")
    if isinstance(test_size, float) and 0 < test_size < 1:
        n_test = int(np.ceil(test_size * n))
    elif isinstance(test_size, (int, np.integer)) and not isinstance(test_size, bool) \
            and 0 < test_size < n:
        n_test = int(test_size)
    else:
        raise ValueError("train_test_split: test_size must be a fraction in (0, 1) or a number "
                         f"of rows in [1, {n - 1}]; got {test_size!r}")
    if n_test >= n:
        raise ValueError(f"train_test_split: test_size={test_size!r} leaves no training rows "
                         f"out of {n}")
    rng = _generator(seed, "train_test_split") or _mode.default_generator()
    if stratify is not None:
        test_idx = _stratified_test_rows(_as_array(stratify, "train_test_split"), n, n_test, rng)
    elif shuffle:
        test_idx = rng.permutation(n)[:n_test]
    else:
        test_idx = np.arange(n - n_test, n)
    is_test = np.zeros(n, dtype=bool)
    is_test[test_idx] = True
    train_idx = np.flatnonzero(~is_test)
    if shuffle:
        train_idx = rng.permutation(train_idx)
        test_idx = rng.permutation(np.sort(test_idx))
    else:
        test_idx = np.sort(test_idx)
    out = []
    for a in arrays:
        out += [a[train_idx], a[test_idx]]
    return out


def _stratified_test_rows(y, n, n_test, rng):
    """Pick n_test rows so each class keeps its share (largest remainders get the spare rows)."""
    if y.shape[0] != n:
        raise ValueError(f"train_test_split: stratify has {y.shape[0]} rows, the arrays have {n}")
    classes, y_idx = np.unique(y, return_inverse=True)
    counts = np.bincount(y_idx)
    exact = counts * n_test / n
    take = np.floor(exact).astype(int)
    spare = n_test - take.sum()
    order = np.lexsort((rng.random(len(classes)), -(exact - take)))
    take[order[:spare]] += 1
    rows = [rng.permutation(np.flatnonzero(y_idx == k))[:take[k]] for k in range(len(classes))]
    return np.concatenate(rows)


def standardize(X, mean=None, std=None):
    """z = (X - mean) / std per column; returns (z, mean, std), statistics from X unless given.

    Columns with zero spread get std 1 (they become all zeros rather than NaN). Fit the
    statistics on the training rows and pass them for the test rows:

        >>> import numpy as np, chainrule as cr
        >>> Z, mu, sd = cr.data.standardize(np.array([[1.0], [3.0]]))
        >>> Z.ravel().tolist(), mu.tolist(), sd.tolist()
        ([-1.0, 1.0], [2.0], [1.0])
    """
    X = _as_array(X, "standardize")
    if X.ndim != 2:
        raise ValueError(f"standardize: X must be 2-D (n_samples, n_features); got shape "
                         f"{X.shape}")
    dtype = X.dtype if X.dtype.kind == "f" else np.dtype(np.float64)
    if mean is None:
        mean = X.mean(axis=0, dtype=np.float64)
    if std is None:
        std = X.std(axis=0, dtype=np.float64)
        std = np.where(std > 0, std, 1.0)
    mean, std = np.asarray(mean, dtype=np.float64), np.asarray(std, dtype=np.float64)
    if mean.shape != (X.shape[1],) or std.shape != (X.shape[1],):
        raise ValueError(f"standardize: mean and std must have shape ({X.shape[1]},); got "
                         f"{mean.shape} and {std.shape}")
    if np.any(std <= 0):
        raise ValueError(f"standardize: std must be positive; got {std.min()!r}")
    return ((X - mean) / std).astype(dtype), mean.astype(dtype), std.astype(dtype)


def one_hot(labels, num_classes=-1):
    """(N,) integer labels -> (N, num_classes) ndarray rows with a single 1.0 (torch's one_hot).

        >>> import chainrule as cr
        >>> cr.data.one_hot([0, 2], 3).tolist()
        [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    """
    y = _as_array(labels, "one_hot")
    if y.dtype.kind not in "iub":
        if y.dtype.kind == "f" and y.size and np.all(y == np.round(y)):
            y = y.astype(np.int64)
        else:
            raise TypeError(f"one_hot: labels must be integers; got dtype {y.dtype}")
    y = y.astype(np.int64, copy=False)
    if y.size and y.min() < 0:
        raise ValueError(f"one_hot: labels must be non-negative; got {int(y.min())}")
    k = int(y.max()) + 1 if num_classes == -1 and y.size else num_classes
    if num_classes != -1 and y.size and y.max() >= num_classes:
        raise ValueError(f"one_hot: label {int(y.max())} is out of range for num_classes="
                         f"{num_classes}")
    out = np.zeros(y.shape + (k,), dtype=_mode.state.default_dtype)
    np.put_along_axis(out, y[..., None], 1.0, axis=-1)
    return out
