"""The worked numbers of seeds 000 and 004, exactly as printed there."""

import math

import numpy as np
import pytest

import chainrule as cr

I = cr.info


def test_fair_coin_has_one_bit_and_the_99_1_coin_about_0_08():
    assert I.entropy(cr.tensor([0.5, 0.5]), base=2).item() == 1.0
    h = I.entropy(cr.tensor([0.99, 0.01]), base=2).item()
    assert round(h, 2) == 0.08
    assert h == pytest.approx(-(0.99 * math.log2(0.99) + 0.01 * math.log2(0.01)), rel=1e-12)


@pytest.mark.parametrize("y_hat, loss", [(0.99, 0.01), (0.50, 0.69), (0.01, 4.61)])
def test_cross_entropy_table(y_hat, loss):
    """True class y = 1: the loss -log(y_hat) is small when right, huge when confidently wrong."""
    got = I.cross_entropy(cr.tensor([1.0, 0.0]), cr.tensor([y_hat, 1 - y_hat])).item()
    assert got == pytest.approx(-math.log(y_hat), rel=1e-12)
    assert round(got, 2) == loss


def test_spam_posterior():
    """P(spam) = 0.3, P(free | spam) = 0.8, P(free | ham) = 0.1: P(spam | free) = 0.24/0.31."""
    prior, likelihood = cr.tensor([0.3, 0.7]), cr.tensor([0.8, 0.1])
    assert I.evidence(prior, likelihood).item() == pytest.approx(0.31, rel=1e-12)
    post = I.bayes(prior, likelihood)
    assert post[0].item() == pytest.approx(0.24 / 0.31, rel=1e-12)
    assert round(post[0].item(), 3) == 0.774
    assert post.sum().item() == pytest.approx(1.0)


def test_fair_die_expectation_is_3_5():
    faces, probs = cr.arange(1, 7), cr.full((6,), 1 / 6)
    assert I.expectation(faces, probs).item() == pytest.approx(3.5, rel=1e-15)
    assert I.variance(faces, probs).item() == pytest.approx(35 / 12, rel=1e-14)


def test_two_dice_sum_distribution():
    """Seed 004: P(X = 2) = 1/36, P(X = 7) = 6/36 for the sum of two dice; E = 7."""
    joint = np.full((6, 6), 1 / 36)
    sums = np.add.outer(np.arange(1, 7), np.arange(1, 7))
    pmf = np.bincount(sums.ravel(), weights=joint.ravel())[2:]
    assert pmf[0] == pytest.approx(1 / 36) and pmf[5] == pytest.approx(6 / 36)
    assert I.expectation(cr.arange(2, 13), cr.tensor(pmf)).item() == pytest.approx(7.0)
    assert I.mutual_information(cr.tensor(joint)).item() == pytest.approx(0.0, abs=1e-15)


def test_cross_entropy_is_entropy_plus_kl_and_kl_is_asymmetric():
    rng = np.random.default_rng(0)
    for _ in range(20):
        p, q = rng.dirichlet(np.ones(5), size=2)
        p, q = cr.tensor(p), cr.tensor(q)
        assert I.cross_entropy(p, q).item() == pytest.approx(
            I.entropy(p).item() + I.kl_divergence(p, q).item(), rel=1e-12)
        assert I.kl_divergence(p, q).item() > 0
        assert I.kl_divergence(p, q).item() != pytest.approx(I.kl_divergence(q, p).item(),
                                                              rel=1e-3)
