"""Metrics against scikit-learn."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.train import metrics

sk = pytest.importorskip("sklearn.metrics")


@pytest.fixture
def labels():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 4, 200)
    y_pred = np.where(rng.random(200) < 0.7, y_true, rng.integers(0, 4, 200))
    y_pred[y_pred == 3] = 2  # class 3 is never predicted: its precision is 0 (not NaN)
    return y_true, y_pred


def test_classification_metrics_match_scikit_learn(labels):
    t, p = labels
    assert metrics.accuracy_score(t, p) == pytest.approx(sk.accuracy_score(t, p))
    for name in ("precision_score", "recall_score", "f1_score"):
        ref = getattr(sk, name)(t, p, average="macro", zero_division=0)
        assert getattr(metrics, name)(t, p) == pytest.approx(ref), name
        per_class = getattr(sk, name)(t, p, average=None, zero_division=0)
        np.testing.assert_allclose(getattr(metrics, name)(t, p, average=None), per_class)
    np.testing.assert_array_equal(metrics.confusion_matrix(t, p), sk.confusion_matrix(t, p))
    np.testing.assert_array_equal(metrics.confusion_matrix(t, p, labels=[3, 0]),
                                  sk.confusion_matrix(t, p, labels=[3, 0]))


def test_scores_and_logits_are_reduced_to_labels(labels):
    t, p = labels
    scores = np.eye(4)[p] * 3.0 - 1.0
    assert metrics.accuracy_score(t, cr.tensor(scores)) == metrics.accuracy_score(t, p)
    binary_logits = np.array([[-2.0], [0.5], [3.0]])
    assert metrics.accuracy_score([0, 1, 0], binary_logits) == pytest.approx(2 / 3)


def test_regression_metrics_match_scikit_learn():
    rng = np.random.default_rng(1)
    t, p = rng.normal(size=50), rng.normal(size=(50, 1))
    assert metrics.mean_squared_error(t, p) == pytest.approx(sk.mean_squared_error(t, p[:, 0]))
    assert metrics.mean_absolute_error(t, p) == pytest.approx(
        sk.mean_absolute_error(t, p[:, 0]))
    assert metrics.r2_score(t, p) == pytest.approx(sk.r2_score(t, p[:, 0]))
    assert metrics.r2_score([1.0, 1.0], [1.0, 1.0]) == 1.0


def test_metric_errors_and_lookup():
    with pytest.raises(ValueError, match="different lengths; got 2 and 3"):
        metrics.accuracy_score([0, 1], [0, 1, 1])
    with pytest.raises(ValueError, match="non-integer"):
        metrics.accuracy_score([0, 1], [0.5, 1.0])
    with pytest.raises(ValueError, match="unknown metric 'auc'"):
        metrics.get_metric("auc")
    assert metrics.get_metric("f1") == ("f1", metrics.f1_score)
