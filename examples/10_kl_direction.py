"""Seed 000: KL is asymmetric, and the Earth Mover's distance stays finite where KL blows up.

1. Fit one Normal q = N(mu, sigma) to a two-mode mixture p = N(-3, 1)/2 + N(3, 1)/2:
   * forward KL(p || q) = E_p[log p - log q] ("wherever p has mass, q must too") is minimised by
     moment matching: q spreads over both modes (mu ~ 0, sigma ~ sqrt(10));
   * reverse KL(q || p) = E_q[log q - log p] punishes q for mass where p has none: q picks one
     mode (mu ~ +-3, sigma ~ 1). Its gradient flows through q's samples (rsample, pathwise).
     Reverse KL is not convex: started narrow (sigma = 0.3) q locks onto the nearer mode (KL
     ~ log 2); started wide (sigma ~ 2) it can stall on a broad compromise (KL ~ 0.80).
2. Two distributions with disjoint supports, U(0, 1) and U(2, 3): KL is +inf (closed form and on
   histograms), while the Wasserstein-1 distance is 2, with a useful gradient.
Plots to runs/examples/10_kl_direction.png. CHAINRULE_QUICK=1 runs fewer steps.
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
STEPS = 150 if QUICK else 600
cr.set_default_dtype(np.float64)
D, I = cr.distributions, cr.info

p = D.MixtureSameFamily(D.Categorical(probs=cr.tensor([0.5, 0.5])),
                        D.Normal(cr.tensor([-3.0, 3.0]), cr.tensor([1.0, 1.0])))


def descend(loss_fn, mu, log_sigma, lr, steps=STEPS):
    """Plain gradient descent on (mu, log sigma); returns the final values and the loss curve."""
    params = [cr.tensor(mu), cr.tensor(log_sigma)]
    step = cr.value_and_grad(loss_fn, argnums=(0, 1))
    history = []
    for t in range(steps):
        cr.manual_seed(t)  # fresh Monte Carlo noise each step, reproducible
        loss, grads = step(*params)
        params = [x - lr * g for x, g in zip(params, grads)]
        history.append(loss.item())
    return params[0].item(), math.exp(params[1].item()), history


def forward_kl_fit():
    """min KL(p || q) = -E_p[log q(X)] + const, with X drawn once from p."""
    cr.manual_seed(0)
    x = p.sample((2_000 if QUICK else 20_000,))
    loss = lambda mu, log_sigma: -D.Normal(mu, log_sigma.exp()).log_prob(x).mean()
    return descend(loss, 0.5, 0.0, lr=0.2) + (x,)


def reverse_kl_fit():
    """min KL(q || p) = E_q[log q(X) - log p(X)], X = mu + sigma eps (reparameterised)."""
    n = 500 if QUICK else 2_000

    def loss(mu, log_sigma):
        q = D.Normal(mu, log_sigma.exp())
        x = q.rsample((n,))
        return (q.log_prob(x) - p.log_prob(x)).mean()

    return descend(loss, 0.5, math.log(0.3), lr=0.1)


def disjoint_supports():
    P, Q = D.Uniform(0.0, 1.0), D.Uniform(2.0, 3.0)
    kl = D.kl_divergence(P, Q).item()
    edges = np.linspace(0.0, 3.0, 31)
    width = np.diff(edges)
    hist_p = np.clip(np.minimum(edges[1:], 1.0) - np.maximum(edges[:-1], 0.0), 0, None)
    hist_q = np.clip(np.minimum(edges[1:], 3.0) - np.maximum(edges[:-1], 2.0), 0, None)
    kl_hist = I.kl_divergence(cr.tensor(hist_p), cr.tensor(hist_q)).item()
    js_hist = I.js_divergence(cr.tensor(hist_p), cr.tensor(hist_q), base=2).item()
    centres = edges[:-1] + width / 2
    M = np.abs(centres[:, None] - centres[None, :])
    w_emd = I.emd2(hist_p, hist_q, M).item()
    cr.manual_seed(0)
    n = 2_000 if QUICK else 20_000
    shift = cr.tensor(2.0, requires_grad=True)
    u, v = P.sample((n,)), Q.sample((n,)) - 2.0 + shift  # Q as U(shift, shift + 1)
    w = I.wasserstein_1d(u, v)
    w.backward()
    print("Disjoint supports: P = U(0, 1), Q = U(2, 3)")
    print(f"  KL(P || Q) closed form         = {kl}")
    print(f"  KL on 30-bin histograms        = {kl_hist}")
    print(f"  JS on the histograms           = {js_hist:.4f} bits (saturated: no gradient)")
    print(f"  W1 by emd on the histograms    = {w_emd:.4f}")
    print(f"  W1 of {n:>6} samples each     = {w.item():.4f}, dW1/dshift = "
          f"{shift.grad.item():.4f}")
    assert kl == math.inf and kl_hist == math.inf and abs(js_hist - 1) < 1e-12
    assert abs(w_emd - 2.0) < 1e-9 and abs(w.item() - 2.0) < 0.05
    assert abs(shift.grad.item() - 1.0) < 1e-9
    return P, Q, w.item()


def plot(fwd, rev, P, Q, w):
    xs = cr.linspace(-8.0, 8.0, 400)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    ax1.plot(xs.numpy(), p.log_prob(xs).exp().numpy(), "k", label="p: two-mode mixture")
    for (mu, sigma), name, style in ((fwd, "forward KL(p||q): covers", "C0--"),
                                     (rev, "reverse KL(q||p): seeks", "C3-.")):
        dens = D.Normal(mu, sigma).log_prob(xs).exp().numpy()
        ax1.plot(xs.numpy(), dens, style, label=f"{name} (mu={mu:.2f}, sigma={sigma:.2f})")
    ax1.set(xlabel="x", ylabel="density", title="Fitting one Normal to two modes", ylim=(0, 0.55))
    ax1.legend(fontsize=8)
    grid = np.linspace(-0.5, 3.5, 400)
    inside = lambda d, lo, hi: ((grid >= lo) & (grid < hi)).astype(float)
    ax2.fill_between(grid, inside(P, 0, 1), alpha=0.5, label="P = U(0, 1)")
    ax2.fill_between(grid, inside(Q, 2, 3), alpha=0.5, label="Q = U(2, 3)")
    ax2.annotate("", (2.0, 0.5), (1.0, 0.5), arrowprops={"arrowstyle": "->"})
    ax2.text(1.0, 0.58, f"KL(P||Q) = inf\nW1 = {w:.2f}")
    ax2.set(xlabel="x", title="Disjoint supports", ylim=(0, 1.3))
    ax2.legend(fontsize=8)
    fig.tight_layout()
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "10_kl_direction.png"
    fig.savefig(path, dpi=80 if QUICK else 120)
    plt.close(fig)
    print(f"plot: {path}")


if __name__ == "__main__":
    mu_f, sigma_f, hist_f, x = forward_kl_fit()
    print("Fitting q = N(mu, sigma) to p = N(-3, 1)/2 + N(3, 1)/2")
    print(f"  forward KL(p || q): mu = {mu_f:+.3f}, sigma = {sigma_f:.3f}  -> covers both modes")
    print(f"    (moment matching: p's samples have mean {x.numpy().mean():+.3f}, std "
          f"{x.numpy().std():.3f})")
    mu_r, sigma_r, hist_r = reverse_kl_fit()
    print(f"  reverse KL(q || p): mu = {mu_r:+.3f}, sigma = {sigma_r:.3f}  -> picks one mode")
    print(f"  q's density at the modes -3 / +3: forward "
          f"{D.Normal(mu_f, sigma_f).log_prob(-3.0).exp().item():.3f} / "
          f"{D.Normal(mu_f, sigma_f).log_prob(3.0).exp().item():.3f}, reverse "
          f"{D.Normal(mu_r, sigma_r).log_prob(-3.0).exp().item():.2e} / "
          f"{D.Normal(mu_r, sigma_r).log_prob(3.0).exp().item():.3f}")
    assert abs(mu_f) < 0.3 and sigma_f > 2.5           # spread over both modes
    assert abs(abs(mu_r) - 3) < 0.3 and sigma_r < 1.5  # collapsed onto one
    P, Q, w = disjoint_supports()
    plot((mu_f, sigma_f), (mu_r, sigma_r), P, Q, w)
