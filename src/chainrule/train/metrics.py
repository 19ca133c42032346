"""Metrics with scikit-learn's names and formulas: accuracy, macro precision/recall/F1, confusion
matrix, MSE, MAE and R².

Classification metrics take labels, or a model's raw output: (N, C) scores are reduced with
argmax, (N, 1) logits are thresholded at 0. Inputs may be Tensors, arrays or lists.
"""

import numpy as np

from chainrule.core.tensor import Tensor


def _array(x, what):
    return np.asarray(x._data if isinstance(x, Tensor) else x)


def _labels(y, what, name):
    """Class labels from labels, (N, C) scores (argmax) or (N, 1) logits (> 0)."""
    y = _array(y, what)
    if y.ndim == 2 and y.shape[1] > 1:
        return y.argmax(axis=1)
    if y.ndim == 2 and y.shape[1] == 1:
        return (y[:, 0] > 0).astype(np.int64) if y.dtype.kind == "f" else y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"{what}: {name} must be labels (N,) or scores (N, C); got shape "
                         f"{y.shape}")
    if y.dtype.kind == "f":
        if not np.all(y == np.round(y)):
            raise ValueError(f"{what}: {name} holds non-integer values; pass class labels or "
                             "(N, C) scores")
        y = y.astype(np.int64)
    return y


def _pair(y_true, y_pred, what):
    t, p = _labels(y_true, what, "y_true"), _labels(y_pred, what, "y_pred")
    if t.shape != p.shape:
        raise ValueError(f"{what}: y_true and y_pred have different lengths; got {t.shape[0]} "
                         f"and {p.shape[0]}")
    if t.size == 0:
        raise ValueError(f"{what}: needs at least one sample; got 0")
    return t, p


def accuracy_score(y_true, y_pred):
    """Fraction of samples whose predicted class equals the true one."""
    t, p = _pair(y_true, y_pred, "accuracy_score")
    return float(np.mean(t == p))


def confusion_matrix(y_true, y_pred, labels=None):
    """C[i, j] = number of samples of true class labels[i] predicted as labels[j].

        >>> from chainrule.train.metrics import confusion_matrix
        >>> confusion_matrix([0, 1, 1], [0, 0, 1]).tolist()
        [[1, 0], [1, 1]]
    """
    t, p = _pair(y_true, y_pred, "confusion_matrix")
    labels = np.union1d(t, p) if labels is None else np.asarray(labels)
    index = {v: i for i, v in enumerate(labels.tolist())}
    k = len(labels)
    ti = np.array([index.get(v, -1) for v in t.tolist()])
    pi = np.array([index.get(v, -1) for v in p.tolist()])
    keep = (ti >= 0) & (pi >= 0)
    return np.bincount(ti[keep] * k + pi[keep], minlength=k * k).reshape(k, k).astype(np.int64)


def _per_class(y_true, y_pred, what, labels):
    C = confusion_matrix(y_true, y_pred, labels)
    tp = np.diag(C).astype(np.float64)
    predicted, actual = C.sum(axis=0), C.sum(axis=1)
    return tp, predicted, actual


def _average(scores, average, what):
    if average == "macro":
        return float(np.mean(scores))
    if average is None:
        return scores
    raise ValueError(f"{what}: average must be 'macro' or None; got {average!r}")


def _safe_divide(a, b):
    # scikit-learn's zero_division=0: a class never predicted (or absent) scores 0, not NaN
    return np.divide(a, b, out=np.zeros_like(a), where=b > 0)


def precision_score(y_true, y_pred, average="macro", labels=None):
    """Precision TP / (TP + FP) per class, averaged over classes (macro) unless average=None."""
    tp, predicted, _ = _per_class(y_true, y_pred, "precision_score", labels)
    return _average(_safe_divide(tp, predicted), average, "precision_score")


def recall_score(y_true, y_pred, average="macro", labels=None):
    """Recall TP / (TP + FN) per class, averaged over classes (macro) unless average=None."""
    tp, _, actual = _per_class(y_true, y_pred, "recall_score", labels)
    return _average(_safe_divide(tp, actual), average, "recall_score")


def f1_score(y_true, y_pred, average="macro", labels=None):
    """F1 = 2 P R / (P + R) per class, averaged over classes (macro) unless average=None."""
    tp, predicted, actual = _per_class(y_true, y_pred, "f1_score", labels)
    return _average(_safe_divide(2 * tp, predicted + actual), average, "f1_score")


def _regression_pair(y_true, y_pred, what):
    t = _array(y_true, what).astype(np.float64)
    p = _array(y_pred, what).astype(np.float64)
    if t.size != p.size or t.size == 0:
        raise ValueError(f"{what}: y_true and y_pred must have the same non-zero size; got "
                         f"shapes {t.shape} and {p.shape}")
    return t.reshape(-1), p.reshape(-1)


def mean_squared_error(y_true, y_pred):
    """MSE = mean((y - ŷ)²)."""
    t, p = _regression_pair(y_true, y_pred, "mean_squared_error")
    return float(np.mean((t - p) ** 2))


def mean_absolute_error(y_true, y_pred):
    """MAE = mean(|y - ŷ|)."""
    t, p = _regression_pair(y_true, y_pred, "mean_absolute_error")
    return float(np.mean(np.abs(t - p)))


def r2_score(y_true, y_pred):
    """R² = 1 - Σ(y - ŷ)² / Σ(y - ȳ)² (1.0 for a perfect fit; 0.0 when y is constant and missed)."""
    t, p = _regression_pair(y_true, y_pred, "r2_score")
    ss_res, ss_tot = np.sum((t - p) ** 2), np.sum((t - t.mean()) ** 2)
    if ss_tot == 0:
        return 1.0 if ss_res == 0 else 0.0
    return float(1.0 - ss_res / ss_tot)


accuracy, precision, recall, f1 = accuracy_score, precision_score, recall_score, f1_score
mse, mae, r2 = mean_squared_error, mean_absolute_error, r2_score

METRICS = {"accuracy": accuracy_score, "precision": precision_score, "recall": recall_score,
           "f1": f1_score, "mse": mean_squared_error, "mae": mean_absolute_error, "r2": r2_score}


def get_metric(metric):
    """(name, fn(y_true, y_pred)) for a metric name in METRICS or a callable."""
    if isinstance(metric, str):
        if metric not in METRICS:
            raise ValueError(f"metrics: unknown metric {metric!r}; choose from {sorted(METRICS)} "
                             "or pass a callable fn(y_true, y_pred)")
        return metric, METRICS[metric]
    if callable(metric):
        return getattr(metric, "__name__", type(metric).__name__), metric
    raise TypeError(f"metrics: a metric must be a name or a callable; got {type(metric).__name__}")
