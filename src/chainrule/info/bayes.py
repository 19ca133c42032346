"""Discrete probability rules: Bayes' theorem, total probability, expectation and variance.

Hypotheses (or outcomes) lie along `axis`, the last one by default; every function is
differentiable in its tensor arguments.
"""

import numpy as np

from chainrule.info.entropy import _float, nonnegative, probabilities


def evidence(prior, likelihoods, axis=-1):
    """Total probability P(B) = sum_k P(B | A_k) P(A_k)."""
    prior = probabilities("evidence", prior, axis, "prior")
    likelihoods = nonnegative("evidence", likelihoods, "likelihoods")
    return (prior * likelihoods).sum(axis)


def bayes(prior, likelihoods, axis=-1):
    """Posterior P(A_k | B) = P(B | A_k) P(A_k) / sum_j P(B | A_j) P(A_j).

    prior: P(A_k), summing to 1 along `axis`; likelihoods: P(B | A_k), broadcasting with it
    (a batch of evidences gives a batch of posteriors).

        >>> import chainrule as cr
        >>> round(cr.info.bayes([0.3, 0.7], [0.8, 0.1])[0].item(), 3)  # P(spam | "free")
        0.774
    """
    prior = probabilities("bayes", prior, axis, "prior")
    likelihoods = nonnegative("bayes", likelihoods, "likelihoods")
    joint = prior * likelihoods
    total = joint.sum(axis, keepdims=True)
    if not np.all(total._data > 0):
        raise ValueError("bayes: the evidence P(B) = sum_k P(B | A_k) P(A_k) is 0, so the "
                         "posterior is undefined; got a likelihood of 0 under every hypothesis "
                         "with prior mass")
    return joint / total


def expectation(values, probs, axis=-1):
    """E[X] = sum_i x_i P(X = x_i): the probability-weighted average of the outcomes.

        >>> import chainrule as cr
        >>> cr.info.expectation([1, 2, 3, 4, 5, 6], [1 / 6] * 6).item()  # a fair die
        3.5
    """
    probs = probabilities("expectation", probs, axis, "probs")
    return (_float(values, probs) * probs).sum(axis)


def variance(values, probs, axis=-1):
    """Var X = E[(X - E[X])^2] = sum_i p_i (x_i - mu)^2."""
    probs = probabilities("variance", probs, axis, "probs")
    x = _float(values, probs)
    d = x - (x * probs).sum(axis, keepdims=True)
    return (d * d * probs).sum(axis)
