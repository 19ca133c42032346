"""Dataset, TensorDataset, DataLoader, train_test_split, standardize, one_hot."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import (
    DataLoader,
    Dataset,
    TensorDataset,
    one_hot,
    standardize,
    train_test_split,
)


def _xy(n=10):
    return np.arange(2 * n, dtype=np.float32).reshape(n, 2), np.arange(n)


def test_tensor_dataset_indexes_rows_and_checks_lengths():
    X, y = _xy()
    ds = TensorDataset(X, cr.tensor(y))
    assert len(ds) == 10
    x3, y3 = ds[3]
    assert x3.tolist() == [6.0, 7.0] and y3 == 3
    with pytest.raises(ValueError, match="same first dimension"):
        TensorDataset(X, y[:5])


def test_loader_batches_in_order_with_last_partial_batch():
    X, y = _xy()
    batches = list(DataLoader((X, y), batch_size=4))
    assert [b[0].shape for b in batches] == [(4, 2), (4, 2), (2, 2)]
    assert all(isinstance(t, cr.Tensor) for b in batches for t in b)
    assert np.concatenate([b[1].numpy() for b in batches]).tolist() == list(range(10))
    assert len(DataLoader((X, y), batch_size=4)) == 3
    dropped = DataLoader((X, y), batch_size=4, drop_last=True)
    assert len(dropped) == 2 and [b[0].shape[0] for b in dropped] == [4, 4]


def test_shuffle_is_a_permutation_reproducible_by_seed_and_by_manual_seed():
    X, y = _xy(50)

    def order(**kw):
        return np.concatenate([b[1].numpy() for b in DataLoader((X, y), 8, shuffle=True, **kw)])

    a = order(seed=3)
    assert sorted(a.tolist()) == list(range(50)) and a.tolist() != list(range(50))
    assert np.array_equal(a, order(seed=3))
    cr.manual_seed(7)
    b = order()
    cr.manual_seed(7)
    assert np.array_equal(b, order())
    loader = DataLoader((X, y), 8, shuffle=True, seed=1)
    first, second = [np.concatenate([b[1].numpy() for b in loader]) for _ in range(2)]
    assert not np.array_equal(first, second)  # a new permutation every epoch


def test_loader_state_dict_replays_the_same_shuffle():
    X, y = _xy(30)
    loader = DataLoader((X, y), 4, shuffle=True, seed=0)
    list(loader)
    state = loader.state_dict()
    expected = [b[1].numpy().tolist() for b in loader]
    other = DataLoader((X, y), 4, shuffle=True, seed=99)
    other.load_state_dict(state)
    assert [b[1].numpy().tolist() for b in other] == expected


def test_generic_dataset_is_collated_into_tensors():
    class Squares(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return np.array([i, i * i], dtype=np.float32), i % 2

    x, y = next(iter(DataLoader(Squares(), batch_size=5)))
    assert x.shape == (5, 2) and x.numpy()[:, 1].tolist() == [0, 1, 4, 9, 16]
    assert y.numpy().tolist() == [0, 1, 0, 1, 0]


def test_loader_rejects_bad_arguments():
    with pytest.raises(ValueError, match="batch_size must be a positive integer; got 0"):
        DataLoader(_xy(), batch_size=0)
    with pytest.raises(TypeError, match="__len__ and __getitem__"):
        DataLoader(42)
    with pytest.raises(ValueError, match="seed must be"):
        DataLoader(_xy(), seed=-1)


def test_train_test_split_partitions_rows_reproducibly():
    X, y = _xy(20)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, seed=0)
    assert len(X_tr) == 15 and len(X_te) == 5
    assert sorted(np.concatenate([y_tr, y_te]).tolist()) == list(range(20))
    assert np.array_equal(X_tr[:, 0] // 2, y_tr)  # rows stay aligned across arrays
    again = train_test_split(X, y, test_size=0.25, seed=0)
    assert all(np.array_equal(a, b) for a, b in zip([X_tr, X_te, y_tr, y_te], again))
    assert len(train_test_split(X, test_size=3, seed=0)[1]) == 3


def test_stratified_split_keeps_class_proportions():
    y = np.repeat([0, 1, 2], [60, 30, 10])
    _, y_te = train_test_split(y, test_size=0.2, stratify=y, seed=1)
    assert np.bincount(y_te).tolist() == [12, 6, 2]


def test_split_errors_name_the_problem():
    X, y = _xy(10)
    with pytest.raises(ValueError, match="same number of rows"):
        train_test_split(X, y[:4])
    with pytest.raises(ValueError, match="test_size must be"):
        train_test_split(X, test_size=1.5)


def test_standardize_uses_training_statistics_and_guards_constant_columns():
    X = np.array([[1.0, 5.0], [3.0, 5.0]], dtype=np.float32)
    Z, mean, std = standardize(X)
    assert Z.dtype == np.float32 and Z.tolist() == [[-1.0, 0.0], [1.0, 0.0]]
    assert mean.tolist() == [2.0, 5.0] and std.tolist() == [1.0, 1.0]
    Z2, _, _ = standardize(np.array([[2.0, 6.0]], dtype=np.float32), mean, std)
    assert Z2.tolist() == [[0.0, 1.0]]
    with pytest.raises(ValueError, match="must be 2-D"):
        standardize(np.zeros(3))


def test_one_hot():
    assert one_hot([1, 0, 2]).tolist() == [[0, 1, 0], [1, 0, 0], [0, 0, 1]]
    assert one_hot(np.array([0]), 4).shape == (1, 4)
    with pytest.raises(ValueError, match="out of range"):
        one_hot([3], 3)
    with pytest.raises(TypeError, match="must be integers"):
        one_hot([0.5])
