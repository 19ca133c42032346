# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 04 · Probability and information theory
#
# A classifier outputs a distribution; its loss is an information-theoretic quantity. This
# notebook works through Bayes' rule, entropy, cross-entropy, the two directions of KL and the
# Wasserstein distance, each with numbers you can check.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

import chainrule as cr

QUICK = os.environ.get("CHAINRULE_QUICK") == "1"
cr.set_default_dtype(np.float64)

# %% [markdown]
# ## Bayes: the spam filter from the seed
# $P(\text{spam}) = 0.3$, $P(\text{"free"} \mid \text{spam}) = 0.8$,
# $P(\text{"free"} \mid \text{ham}) = 0.1$. Seeing "free" raises the spam probability to
# $0.24 / 0.31 \approx 0.77$.

# %%
posterior = cr.info.bayes(cr.tensor([0.3, 0.7]), cr.tensor([0.8, 0.1]))
print("P(spam | free) =", round(posterior[0].item(), 4))
assert np.isclose(posterior[0].item(), 0.24 / 0.31) and round(posterior[0].item(), 2) == 0.77

# %% [markdown]
# ## Entropy: a fair coin carries 1 bit, a 99/1 coin about 0.08

# %%
fair = cr.info.entropy(cr.tensor([0.5, 0.5]), base=2).item()
biased = cr.info.entropy(cr.tensor([0.99, 0.01]), base=2).item()
print(f"H(fair) = {fair} bits, H(99/1) = {biased:.3f} bits")
assert fair == 1.0 and round(biased, 2) == 0.08
p = np.linspace(1e-4, 1 - 1e-4, 200)
H = [cr.info.entropy(cr.tensor([q, 1 - q]), base=2).item() for q in p]
plt.figure(figsize=(4.5, 3))
plt.plot(p, H)
plt.xlabel("P(heads)")
plt.ylabel("H (bits)")
plt.show()

# %% [markdown]
# ## Cross-entropy: the price of confident mistakes
# $-\log 0.99 = 0.01$, $-\log 0.5 = 0.69$, $-\log 0.01 = 4.61$ (nats).

# %%
for q, want in ((0.99, 0.01), (0.5, 0.69), (0.01, 4.61)):
    ce = cr.info.cross_entropy(cr.tensor([1.0, 0.0]), cr.tensor([q, 1 - q])).item()
    print(f"yhat = {q}: -log = {ce:.2f}")
    assert round(ce, 2) == want

# %% [markdown]
# ## KL both ways: mode covering and mode seeking
# Fit one Gaussian $q$ to a two-bump $p$. Minimising $KL(p\|q)$ (forward) punishes $q \approx 0$
# where $p > 0$, so $q$ spreads over both bumps. Minimising $KL(q\|p)$ (reverse) punishes $q > 0$
# where $p \approx 0$, so $q$ settles on one bump.

# %%
xs = cr.tensor(np.linspace(-8, 8, 401))
dx = 16 / 400


def normal(x, mu, s):
    return cr.exp(-0.5 * ((x - mu) / s) ** 2) / (s * np.sqrt(2 * np.pi))


p = 0.5 * normal(xs, -3.0, 0.8) + 0.5 * normal(xs, 3.0, 0.8)


def fit(direction, mu0):
    mu = cr.tensor(mu0, requires_grad=True)
    log_s = cr.tensor(0.0, requires_grad=True)
    opt = cr.optim.Adam([mu, log_s], lr=0.05)
    for _ in range(300 if QUICK else 1000):
        opt.zero_grad()
        q = normal(xs, mu, cr.exp(log_s)) + 1e-12
        pp = p + 1e-12
        kl = (pp * cr.log(pp / q)).sum() * dx if direction == "forward" else \
            (q * cr.log(q / pp)).sum() * dx
        kl.backward()
        opt.step()
    return mu.item(), cr.exp(log_s).item()


mu_f, s_f = fit("forward", 0.5)
mu_r, s_r = fit("reverse", 1.5)  # started off-centre: it slides into the nearer bump
print(f"forward KL(p||q): mu = {mu_f:.2f}, sigma = {s_f:.2f}   (covers both modes)")
print(f"reverse KL(q||p): mu = {mu_r:.2f}, sigma = {s_r:.2f}   (picks one mode)")
assert abs(mu_f) < 0.3 and s_f > 2.5  # the moments of p: mean 0, std sqrt(9 + 0.64) = 3.1
assert abs(abs(mu_r) - 3.0) < 0.3 and abs(s_r - 0.8) < 0.2
plt.figure(figsize=(6, 3))
plt.plot(xs.numpy(), p.numpy(), "k", label="p")
plt.plot(xs.numpy(), normal(xs, mu_f, s_f).numpy(), label="argmin KL(p||q)")
plt.plot(xs.numpy(), normal(xs, mu_r, s_r).numpy(), label="argmin KL(q||p)")
plt.legend()
plt.show()

# %% [markdown]
# ## Wasserstein: distance that sees how far mass moves
# Two point masses at 0 and $t$: KL is infinite (disjoint supports) and JS is stuck at $\log 2$ for
# every $t > 0$, but $W_1 = t$ grows with the distance. That is why a W1 critic still gives a
# useful gradient when the generator is far from the data (notebook 09).

# %%
for t in (0.5, 2.0, 5.0):
    w1 = cr.info.wasserstein_distance(cr.tensor([0.0]), cr.tensor([t])).item()
    js = cr.info.js_divergence(cr.tensor([1.0, 0.0]), cr.tensor([0.0, 1.0])).item()
    print(f"t = {t}: W1 = {w1}, JS = {js:.4f}")
    assert np.isclose(w1, t) and np.isclose(js, np.log(2))
