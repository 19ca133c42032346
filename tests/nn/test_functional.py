"""cr.nn.functional beyond the losses: one_hot, softplus threshold, functional batch_norm,
embedding, linear and their errors."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F


def test_one_hot():
    out = F.one_hot(np.array([2, 0, 1]))
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out.numpy(), np.eye(3, dtype=np.int64)[[2, 0, 1]])
    assert F.one_hot(cr.tensor(np.array([[1], [0]])), num_classes=4).shape == (2, 1, 4)
    with pytest.raises(ValueError, match="class label 5 is out of range for 3 classes"):
        F.one_hot(np.array([5]), 3)
    with pytest.raises(TypeError, match="integers"):
        F.one_hot(np.array([1.0]))


def test_softplus_threshold_switches_to_identity():
    x = cr.tensor([0.0, 3.0, 5.0, 30.0])
    y = F.softplus(x, beta=2.0, threshold=8.0).numpy()  # beta x > 8: y = x
    np.testing.assert_allclose(y, [np.log(2) / 2, np.log1p(np.exp(6)) / 2, 5.0, 30.0],
                               rtol=1e-6)


def test_silu_and_sin():
    x = np.array([-1.0, 0.5, 2.0])
    np.testing.assert_allclose(F.silu(cr.tensor(x)).numpy(), x / (1 + np.exp(-x)), rtol=1e-6)
    np.testing.assert_allclose(F.sin(cr.tensor(x), w0=30.0).numpy(), np.sin(30 * x),
                               rtol=1e-5, atol=1e-6)


def test_functional_batch_norm_with_array_running_stats(float64):
    x = np.random.default_rng(0).normal(size=(10, 2))
    running_mean, running_var = np.zeros(2), np.ones(2)
    F.batch_norm(cr.tensor(x), running_mean, running_var, training=True, momentum=0.5)
    np.testing.assert_allclose(running_mean, 0.5 * x.mean(0))
    np.testing.assert_allclose(running_var, 0.5 + 0.5 * x.var(0, ddof=1))
    y = F.batch_norm(cr.tensor(x), running_mean, running_var)  # eval: running statistics
    np.testing.assert_allclose(y.numpy(), (x - running_mean) / np.sqrt(running_var + 1e-5))
    with pytest.raises(ValueError, match="running_mean and running_var are needed"):
        F.batch_norm(cr.tensor(x), None, None)


def test_linear_and_embedding_errors():
    with pytest.raises(ValueError, match=r"bias must have shape \(2,\); got \(3,\)"):
        F.linear(cr.zeros(4, 3), cr.zeros(2, 3), cr.zeros(3))
    with pytest.raises(ValueError, match="index -1 is out of range for 4 embeddings"):
        F.embedding(np.array([-1]), cr.zeros(4, 2))


def test_dropout_functional():
    x = cr.ones(10)
    assert F.dropout(x, 0.5, training=False) is x
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\]; got -0.1"):
        F.dropout(x, -0.1)


def test_layer_norm_functional_with_affine(float64):
    x = np.random.default_rng(1).normal(size=(3, 4))
    w, b = np.arange(1.0, 5.0), np.full(4, 0.5)
    y = F.layer_norm(cr.tensor(x), 4, cr.tensor(w), cr.tensor(b)).numpy()
    xhat = (x - x.mean(1, keepdims=True)) / np.sqrt(x.var(1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(y, xhat * w + b)
