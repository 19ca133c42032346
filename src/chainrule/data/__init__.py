"""cr.data: datasets, batching and loaders (torch.utils.data and scikit-learn names).

    >>> import chainrule as cr
    >>> X, y = cr.data.make_moons(100, seed=0)
    >>> X_tr, X_te, y_tr, y_te = cr.data.train_test_split(X, y, test_size=0.25, seed=0)
    >>> [tuple(b.shape) for b in next(iter(cr.data.DataLoader((X_tr, y_tr), batch_size=8)))]
    [(8, 2), (8,)]
"""

from chainrule.data.dataset import (
    DataLoader,
    Dataset,
    TensorDataset,
    one_hot,
    standardize,
    train_test_split,
)
from chainrule.data.datasets import (
    LoadedDataset,
    available_datasets,
    load_breast_cancer,
    load_dataset,
    load_diabetes,
    load_digits,
    load_iris,
    load_wine,
    make_circles,
    make_function_1d,
    make_moons,
    make_spirals,
    make_xor,
)
from chainrule.data.loaders import load_csv, load_idx, load_npz, save_idx
from chainrule.data.sampler import DistributedSampler
from chainrule.data.utilities import (
    BatchSampler,
    ConcatDataset,
    IterableDataset,
    RandomSampler,
    Sampler,
    SequentialSampler,
    Subset,
    SubsetRandomSampler,
    WeightedRandomSampler,
    default_collate,
    get_worker_info,
    random_split,
)

__all__ = [
    "DataLoader", "Dataset", "DistributedSampler", "LoadedDataset", "TensorDataset",
    "available_datasets", "load_breast_cancer", "load_csv", "load_dataset", "load_diabetes",
    "load_digits", "load_idx", "load_iris", "load_npz", "load_wine", "make_circles",
    "make_function_1d", "make_moons", "make_spirals", "make_xor", "one_hot", "save_idx",
    "standardize", "train_test_split",
    "BatchSampler", "ConcatDataset", "IterableDataset", "RandomSampler", "Sampler",
    "SequentialSampler", "Subset", "SubsetRandomSampler", "WeightedRandomSampler",
    "default_collate", "get_worker_info", "random_split",
]
