"""Seeds 000 and 004, information theory: entropy is surprise, cross-entropy = entropy + KL.

Reproduces the seeds' worked numbers with chainrule.info and chainrule.distributions:
  * a fair coin has 1 bit of entropy, a 99/1 coin about 0.08 bits;
  * the cross-entropy table -log(0.99) = 0.01, -log(0.5) = 0.69, -log(0.01) = 4.61;
  * H(p, q) = H(p) + KL(p || q), and KL(p || q) != KL(q || p);
  * Bayes' spam filter: P(spam | "free") = 0.24 / 0.31 = 0.774;
  * a fair die's expectation, 3.5.
It plots the binary entropy curve and the cross-entropy penalty to runs/examples/.
Set CHAINRULE_QUICK=1 for a fast smoke run (the numbers are the same; the plot is coarser).
"""

import math
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import chainrule as cr

QUICK = os.environ.get("CHAINRULE_QUICK") == "1"
OUT = Path("runs/examples")  # under the current directory, as every example
cr.set_default_dtype(np.float64)
I, D = cr.info, cr.distributions


def coins():
    print("Entropy is surprise: H(p) = -sum p log2 p")
    fair = I.entropy(cr.tensor([0.5, 0.5]), base=2).item()
    biased = I.entropy(cr.tensor([0.99, 0.01]), base=2).item()
    print(f"  fair coin (50/50):   H = {fair:.4f} bits")
    print(f"  biased coin (99/1):  H = {biased:.4f} bits  (~{biased:.2f}: very predictable)")
    # the slope of the binary entropy, by autodiff: dH/dp = log2((1 - p) / p)
    slope = cr.grad(lambda p: D.Bernoulli(p).entropy() / math.log(2))(cr.tensor(0.99)).item()
    print(f"  dH/dp at p = 0.99:   {slope:.4f} bits  (= log2(0.01/0.99) = "
          f"{math.log2(0.01 / 0.99):.4f})")
    assert fair == 1.0 and round(biased, 2) == 0.08
    return fair, biased


def cross_entropy_table():
    print("Cross-entropy penalises confident wrong predictions: L = -log y_hat for y = 1")
    print("  y_hat   loss")
    rows = []
    for y_hat in (0.99, 0.50, 0.01):
        loss = I.cross_entropy(cr.tensor([1.0, 0.0]), cr.tensor([y_hat, 1 - y_hat])).item()
        rows.append((y_hat, loss))
        print(f"  {y_hat:4.2f}   -log({y_hat:4.2f}) = {loss:.2f}")
    assert [round(loss, 2) for _, loss in rows] == [0.01, 0.69, 4.61]
    return rows


def decomposition():
    print("Cross-entropy = entropy + KL, and KL is asymmetric (random distributions)")
    cr.manual_seed(0)
    for _ in range(3):
        p = D.Categorical(logits=cr.randn(5)).probs
        q = D.Categorical(logits=cr.randn(5)).probs
        h_pq, h_p = I.cross_entropy(p, q).item(), I.entropy(p).item()
        kl_pq, kl_qp = I.kl_divergence(p, q).item(), I.kl_divergence(q, p).item()
        print(f"  H(p,q) = {h_pq:.4f} = H(p) {h_p:.4f} + KL(p||q) {kl_pq:.4f};   "
              f"KL(q||p) = {kl_qp:.4f}")
        assert abs(h_pq - (h_p + kl_pq)) < 1e-12 and abs(kl_pq - kl_qp) > 1e-6


def spam():
    print("Bayes' theorem: P(spam | 'free') = P('free' | spam) P(spam) / P('free')")
    prior, likelihood = cr.tensor([0.3, 0.7]), cr.tensor([0.8, 0.1])
    evidence = I.evidence(prior, likelihood).item()
    posterior = I.bayes(prior, likelihood)[0].item()
    print(f"  P('free') = 0.8 x 0.3 + 0.1 x 0.7 = {evidence:.2f}")
    print(f"  P(spam | 'free') = 0.24 / {evidence:.2f} = {posterior:.3f}  (30% -> 77%)")
    assert abs(posterior - 0.24 / 0.31) < 1e-12 and round(posterior, 3) == 0.774
    return posterior


def die():
    print("Expectation: the probability-weighted average outcome")
    e = I.expectation(cr.arange(1, 7), cr.full((6,), 1 / 6)).item()
    print(f"  fair die: E[X] = (1 + 2 + 3 + 4 + 5 + 6) / 6 = {e:.1f}")
    cr.manual_seed(1)
    rolls = D.Categorical(probs=cr.full((6,), 1 / 6)).sample((2_000 if QUICK else 100_000,))
    print(f"  the average of {rolls.shape[0]} simulated rolls: {rolls.numpy().mean() + 1:.3f}")
    assert abs(e - 3.5) < 1e-12
    return e


def plot(biased):
    n = 101 if QUICK else 1001
    p = cr.linspace(0.0, 1.0, n)
    h = I.entropy(cr.stack([p, 1 - p], axis=1), base=2).numpy()
    y_hat = np.linspace(0.005, 1.0, n)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.plot(p.numpy(), h)
    ax1.scatter([0.5, 0.99], [1.0, biased], color="C3", zorder=3)
    ax1.annotate("fair coin: 1 bit", (0.5, 1.0), (0.3, 0.8))
    ax1.annotate(f"99/1 coin: {biased:.2f} bits", (0.99, biased), (0.55, 0.2))
    ax1.set(xlabel="P(heads)", ylabel="H (bits)", title="Entropy of a coin")
    ax2.plot(y_hat, -np.log(y_hat))
    for y, loss, at in ((0.99, 0.01, (0.62, 0.45)), (0.5, 0.69, (0.55, 1.0)),
                        (0.01, 4.61, (0.06, 4.9))):
        ax2.scatter([y], [-math.log(y)], color="C3", zorder=3)
        ax2.annotate(f"-log({y}) = {loss}", (y, -math.log(y)), at)
    ax2.set(xlabel="predicted probability of the true class", ylabel="loss (nats)",
            title="Cross-entropy penalty")
    fig.tight_layout()
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "09_information_theory.png"
    fig.savefig(path, dpi=80 if QUICK else 120)
    plt.close(fig)
    print(f"plot: {path}")


if __name__ == "__main__":
    _, biased = coins()
    cross_entropy_table()
    decomposition()
    spam()
    die()
    plot(biased)
