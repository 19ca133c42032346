"""Mutual information from a joint table and from paired samples (against scikit-learn), its
identities with the entropies, gradients, Bayes' rule in batches."""

import numpy as np
import pytest

import chainrule as cr

I = cr.info


def _joint(seed, shape=(3, 4)):
    p = np.random.default_rng(seed).random(shape)
    return p / p.sum()


def test_mutual_information_identities():
    p = _joint(0)
    px, py = p.sum(1), p.sum(0)
    h = lambda v: -(v * np.log(v)).sum()
    mi = I.mutual_information(cr.tensor(p)).item()
    assert mi == pytest.approx(h(px) + h(py) - h(p.ravel()), rel=1e-12)
    assert I.joint_entropy(cr.tensor(p)).item() == pytest.approx(h(p.ravel()), rel=1e-12)
    assert I.conditional_entropy(cr.tensor(p)).item() == pytest.approx(h(p.ravel()) - h(px),
                                                                        rel=1e-12)
    assert I.mutual_information(cr.tensor(np.outer(px, py))).item() == pytest.approx(0, abs=1e-15)
    assert I.mutual_information(cr.tensor(np.eye(4) / 4), base=2).item() == pytest.approx(2.0)


def test_batched_joint_tables():
    p = np.stack([_joint(1), _joint(2)])
    got = I.mutual_information(cr.tensor(p)).numpy()
    assert got.shape == (2,)
    assert got[1] == pytest.approx(I.mutual_information(cr.tensor(p[1])).item(), rel=1e-12)


def test_mutual_info_score_matches_sklearn():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(3)
    x = rng.integers(0, 4, size=500)
    y = (x + rng.integers(0, 3, size=500)) % 5
    assert I.mutual_info_score(x, y).item() == pytest.approx(metrics.mutual_info_score(x, y),
                                                             rel=1e-10)
    joint = I.contingency_table(["a", "b", "a", "a"], [1, 1, 2, 2]).numpy()
    np.testing.assert_allclose(joint, [[0.25, 0.5], [0.25, 0.0]])


def test_gradcheck_mutual_information():
    p = cr.tensor(_joint(4), requires_grad=True)
    assert cr.gradcheck(I.mutual_information, [p])
    assert cr.gradgradcheck(I.conditional_entropy, [p])


def test_bayes_batches_and_gradients():
    prior = cr.tensor([0.3, 0.7])
    lik = cr.tensor([[0.8, 0.1], [0.2, 0.9]])  # P(free | .) and P(no free | .)
    post = I.bayes(prior, lik).numpy()
    np.testing.assert_allclose(post[0], [0.24 / 0.31, 0.07 / 0.31])
    np.testing.assert_allclose(post[1], [0.06 / 0.69, 0.63 / 0.69])
    prior.requires_grad = True
    lik.requires_grad = True
    assert cr.gradcheck(I.bayes, [prior, lik])


@pytest.mark.parametrize("call, match", [
    (lambda: I.mutual_information(cr.tensor([0.5, 0.5])), r"shape \(..., n_x, n_y\)"),
    (lambda: I.mutual_information(cr.ones(2, 2)), "joint must sum to 1"),
    (lambda: I.bayes([0.5, 0.5], [0.0, 0.0]), "evidence"),
    (lambda: I.bayes([0.5, 0.6], [0.1, 0.1]), "prior must sum to 1"),
    (lambda: I.contingency_table([1, 2], [1]), "paired"),
])
def test_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
