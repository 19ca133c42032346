"""End to end: XOR (seed 002's argument for non-linearity) and an MLP on sklearn's digits."""

import importlib.util
import pathlib
import time

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F

_EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "examples" / "03_xor.py"


def _xor_example():
    spec = importlib.util.spec_from_file_location("xor_example", _EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_xor_sigmoid_network_learns_xor(seed):
    _, history, p, correct = _xor_example().train(nn.Sigmoid(), seed=seed)
    assert history[-1] < 0.01
    assert correct == 4
    assert history[-1] < history[0]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_xor_without_nonlinearity_is_one_hyperplane(seed):
    model, history, p, correct = _xor_example().train(nn.Identity(), seed=seed)
    assert correct <= 3
    assert history[-1] > 0.4  # stuck near log 2 = 0.69: no line separates XOR
    # the chain collapses: the logit equals one affine function W x + b on any input
    W1, b1 = model[0].weight.numpy(), model[0].bias.numpy()
    W2, b2 = model[2].weight.numpy(), model[2].bias.numpy()
    x = np.random.default_rng(0).normal(size=(10, 2)).astype(np.float32)
    with cr.no_grad():
        logit = model[:3](cr.tensor(x)).numpy()
    np.testing.assert_allclose(logit, x @ (W2 @ W1).T + (W2 @ b1 + b2), rtol=1e-5, atol=1e-5)


def test_no_linear_classifier_gets_xor_right():
    """Exhaustive check of the claim: over many hyperplanes, none classifies all 4 points."""
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    y = np.array([0, 1, 1, 0])
    rng = np.random.default_rng(0)
    w = rng.normal(size=(20000, 2))
    b = rng.normal(size=(20000, 1))
    correct = ((X @ w.T + b.T > 0) == y[:, None]).sum(0)
    assert correct.max() == 3


def test_digits_mlp_reaches_97_percent():
    """64-256-10 ReLU MLP, Adam(lr=1e-3), batches of 64, 40 epochs, fixed split and seed."""
    datasets = pytest.importorskip("sklearn.datasets")
    from sklearn.model_selection import train_test_split

    X, y = datasets.load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0,
                                                        stratify=y)
    # small GEMMs gain nothing from BLAS threads, and threads that spin while other processes
    # hold the 2 cores make training ~5x slower
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        accuracy, elapsed = _train_digits(X_train, y_train, X_test, y_test)
    print(f"digits: test accuracy {accuracy:.4f} in {elapsed:.2f} s")
    assert accuracy >= 0.97
    assert elapsed < 60


def _train_digits(X_train, y_train, X_test, y_test):
    start = time.perf_counter()
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 10))
    optimizer = cr.optim.Adam(model.parameters(), lr=1e-3)
    order = np.random.default_rng(0)
    for _ in range(40):
        perm = order.permutation(len(X_train))
        for i in range(0, len(X_train), 64):
            batch = perm[i:i + 64]
            optimizer.zero_grad()
            loss = F.cross_entropy(model(cr.tensor(X_train[batch])), y_train[batch])
            loss.backward()
            optimizer.step()
    elapsed = time.perf_counter() - start
    model.eval()
    with cr.no_grad():
        accuracy = (model(cr.tensor(X_test)).numpy().argmax(1) == y_test).mean()
    return accuracy, elapsed
