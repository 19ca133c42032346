"""Built-in datasets: scikit-learn's bundled sets and the synthetic generators."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import data

pytest.importorskip("sklearn")


@pytest.mark.parametrize("name, shape, classes", [
    ("digits", (1797, 64), 10), ("iris", (150, 4), 3), ("breast_cancer", (569, 30), 2),
    ("wine", (178, 13), 3)])
def test_sklearn_datasets(name, shape, classes):
    import sklearn.datasets

    X, y = getattr(data, f"load_{name}")()
    assert X.shape == shape and X.dtype == np.float32 and y.dtype == np.int64
    assert len(np.unique(y)) == classes
    ref = getattr(sklearn.datasets, f"load_{name}")()
    np.testing.assert_array_equal(X, ref.data.astype(np.float32))
    np.testing.assert_array_equal(y, ref.target)


def test_diabetes_is_regression():
    X, y = data.load_diabetes()
    assert X.shape == (442, 10) and y.shape == (442,) and y.dtype == np.float32
    assert data.load_dataset("diabetes").task == "regression"


def test_moons_match_scikit_learn_without_noise():
    import sklearn.datasets

    X, y = data.make_moons(100, noise=0.0, seed=0)
    ref_X, ref_y = sklearn.datasets.make_moons(100, shuffle=False, noise=None)
    mine = sorted(map(tuple, np.round(np.column_stack([X, y]), 5)))
    ref = sorted(map(tuple, np.round(np.column_stack([ref_X, ref_y]), 5)))
    assert mine == ref


@pytest.mark.parametrize("maker", [data.make_xor, data.make_moons, data.make_circles,
                                   data.make_spirals])
def test_synthetic_2d_sets_are_balanced_reproducible_and_float32(maker):
    X, y = maker(200, seed=1)
    assert X.shape == (200, 2) and X.dtype == np.float32 and y.dtype == np.int64
    assert set(np.unique(y)) == {0, 1}
    assert abs(int(np.sum(y == 0)) - 100) <= 30
    X2, y2 = maker(200, seed=1)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)
    cr.manual_seed(5)
    a = maker(50)
    cr.manual_seed(5)
    assert np.array_equal(a[0], maker(50)[0])


def test_xor_labels_and_spiral_classes():
    X, y = data.make_xor(100, seed=0)
    assert np.array_equal(y, (X[:, 0] * X[:, 1] < 0).astype(np.int64))
    X, y = data.make_spirals(90, n_classes=3, seed=0)
    assert np.bincount(y).tolist() == [30, 30, 30]
    with pytest.raises(ValueError, match="n_classes"):
        data.make_spirals(n_classes=1)


def test_function_regression_data():
    X, y = data.make_function_1d("sin", n_samples=5)
    assert X.shape == (5, 1) and y.shape == (5, 1)
    np.testing.assert_allclose(X[:, 0], np.linspace(-math.pi, math.pi, 5), rtol=1e-6)
    np.testing.assert_allclose(y[:, 0], np.sin(X[:, 0]), atol=1e-6)
    X, y = data.make_function_1d(lambda x: x ** 3, n_samples=50, low=0, high=1, random=True,
                                 seed=0)
    assert np.all(np.diff(X[:, 0]) >= 0) and X.min() >= 0 and X.max() <= 1
    _, step = data.make_function_1d("step", n_samples=3)
    assert step[0, 0] < 0.01 and step[1, 0] == pytest.approx(0.5) and step[2, 0] > 0.99
    with pytest.raises(ValueError, match="unknown function 'cube'"):
        data.make_function_1d("cube")


def test_load_dataset_by_name():
    ds = data.load_dataset("digits")
    assert ds.task == "classification" and ds.target_names[:3] == ["0", "1", "2"]
    assert "spirals" in data.available_datasets()
    with pytest.raises(ValueError, match="unknown dataset 'mnist'"):
        data.load_dataset("mnist")
