"""Seed 000: Wasserstein GANs use the Earth Mover's distance because it gives "useful gradients
even when the generator's distribution doesn't overlap with the real data".

1. Disjoint supports: real data P = U(0, 1), generator Q_theta = theta + U(0, 1). For |theta| >= 1
   JS(P, Q) = log 2 whatever theta is, so its gradient is 0; KL(P || Q) = +inf (undefined
   gradient); W1 = |theta| with gradient of magnitude 1. Shown in closed form, and measured: W1
   and its gradient by autodiff of cr.info.wasserstein_1d on samples; the JS gradient as a GAN
   sees it, through a trained discriminator (JS ~ log 2 + E_P log D / 2 + E_Q log(1 - D) / 2):
   it vanishes.
2. A vanilla GAN (non-saturating generator loss), the same GAN with a spectral-normalised
   discriminator (cr.nn.utils.parametrizations.spectral_norm, logits scaled by 5), and a
   WGAN-GP (critic, n_critic steps, gradient penalty by double backprop:
   cr.nn.gradient_penalty) on a ring of 8 Gaussians. Measured over training: modes covered (a
   mode counts when at least 2% of the samples lie within 3 sd of it) and the exact W1
   between equal-size generated and real samples (cr.info.emd2, which solves uniform
   equal-size problems as an optimal assignment).
The GAN loops are written by hand: cr.train.fit runs one model, one loss and one optimizer per
batch, while a GAN alternates two players (n_critic critic steps per generator step). They use
a tqdm progress bar (cr.train.Progress) and save checkpoints with cr.save.
Writes runs/examples/23_gan_wgan/*.png. CHAINRULE_QUICK=1: fewer steps (seconds).
"""

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.nn.utils.parametrizations import spectral_norm

QUICK = os.environ.get("CHAINRULE_QUICK") == "1"
OUT = Path("runs/examples/23_gan_wgan")
OUT.mkdir(parents=True, exist_ok=True)
nn = cr.nn
ITERS, EVERY, N_EVAL = (300, 100, 200) if QUICK else (3000, 250, 500)
cr.set_default_dtype(np.float32)

# ---- 1. disjoint supports: JS, KL and W1 as functions of the generator's shift --------------
thetas = np.linspace(-3, 3, 121)
js_closed = np.log(2) * np.minimum(np.abs(thetas), 1.0)  # (1 - overlap) log 2
print("P = U(0, 1), Q = theta + U(0, 1): for |theta| >= 1 the supports are disjoint")
kl = cr.distributions.kl_divergence(cr.distributions.Uniform(cr.tensor(0.0), cr.tensor(1.0)),
                                    cr.distributions.Uniform(cr.tensor(2.0), cr.tensor(3.0)))
print(f"KL(P || Q) at theta = 2: {kl.item()} (closed form): no finite value, no gradient")
rng = np.random.default_rng(0)
u_real, u_fake = rng.uniform(size=2000), rng.uniform(size=2000)
w1, w1_grad = [], []
for t in thetas:
    theta = cr.tensor(np.float64(t), requires_grad=True)
    w = cr.info.wasserstein_1d(cr.tensor(u_real), theta + cr.tensor(u_fake))
    w.backward()
    w1.append(w.item())
    w1_grad.append(theta.grad.item())
w1, w1_grad = np.array(w1), np.array(w1_grad)
far = np.abs(thetas) >= 1
print(f"W1 from 2000 samples at theta = 2: {w1[np.argmin(np.abs(thetas - 2))]:.4f} (exact 2); "
      f"|dW1/dtheta| over the disjoint shifts: min {np.abs(w1_grad[far]).min():.4f}, max "
      f"{np.abs(w1_grad[far]).max():.4f} (exact 1)")


def js_gradient_through_discriminator(t, steps=300 if QUICK else 600):
    """A discriminator trained on P vs Q_t, then d/dt of the JS estimate it gives (the
    generator's gradient in a GAN)."""
    cr.manual_seed(1)
    Dn = nn.Sequential(nn.Linear(1, 32), nn.ReLU(), nn.Linear(32, 1)).double()
    opt = cr.optim.Adam(Dn.parameters(), lr=1e-2)
    r = np.random.default_rng(2)
    for _ in range(steps):
        real = cr.tensor(r.uniform(size=(128, 1)))
        fake = cr.tensor(t + r.uniform(size=(128, 1)))
        loss = F.binary_cross_entropy_with_logits(Dn(real), cr.ones(128, 1, dtype=np.float64)) \
            + F.binary_cross_entropy_with_logits(Dn(fake), cr.zeros(128, 1, dtype=np.float64))
        opt.zero_grad()
        loss.backward()
        opt.step()
    theta = cr.tensor(np.float64(t), requires_grad=True)
    real = cr.tensor(r.uniform(size=(2000, 1)))
    fake = theta + cr.tensor(r.uniform(size=(2000, 1)))
    # log D = -softplus(-logit), log(1 - D) = -softplus(logit)
    js = np.log(2) - 0.5 * F.softplus(-Dn(real)).mean() - 0.5 * F.softplus(Dn(fake)).mean()
    js.backward()
    return js.item(), theta.grad.item()


js_est = {t: js_gradient_through_discriminator(t) for t in (-2.0, 2.0)}
for t, (value, grad) in js_est.items():
    print(f"theta = {t:+.0f}: JS through a trained discriminator = {value:.4f} (log 2 = "
          f"{np.log(2):.4f}), dJS/dtheta = {grad:.2e} (vanishes); dW1/dtheta = "
          f"{w1_grad[np.argmin(np.abs(thetas - t))]:+.4f}")

fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
axes[0].plot(thetas, js_closed, label="JS(P, Q) (closed form)")
axes[0].plot(thetas, w1, label="W1(P, Q) (samples)")
axes[0].plot(thetas[thetas != 0], np.full((thetas != 0).sum(), 3.2), "r:",
             label="KL(P || Q) = +inf for theta != 0")
axes[0].set(xlabel="generator shift theta", ylabel="divergence", ylim=(0, 3.4),
            title="P = U(0,1), Q = theta + U(0,1)")
axes[1].plot(thetas, np.gradient(js_closed, thetas), label="dJS/dtheta (closed form)")
axes[1].plot(thetas, w1_grad, label="dW1/dtheta (autodiff)")
axes[1].plot(list(js_est), [g for _, g in js_est.values()], "ko",
             label="dJS/dtheta through a trained discriminator")
axes[1].axvspan(-1, 1, color="0.9", label="supports overlap")
axes[1].set(xlabel="generator shift theta", ylabel="gradient", title="what the generator feels")
for a in axes:
    a.legend(fontsize=7)
fig.savefig(OUT / "disjoint_supports.png", dpi=110)
plt.close(fig)

# ---- 2. GAN, spectral-norm GAN and WGAN-GP on a ring of 8 Gaussians ----------------------------
MODES = 2.0 * np.stack([np.cos(2 * np.pi * np.arange(8) / 8), np.sin(2 * np.pi * np.arange(8) / 8)],
                       axis=1)
SD = 0.05


def ring(n, rng):
    return (MODES[rng.integers(0, 8, n)] + SD * rng.standard_normal((n, 2))).astype(np.float32)


def modes_covered(x):
    """How many modes receive at least 2% of the samples within 3 sd."""
    d = np.linalg.norm(x[:, None, :] - MODES[None], axis=-1)
    counts = ((d < 3 * SD).sum(0))
    return int((counts >= 0.02 * len(x)).sum())


def exact_w1(x, y):
    """W1 between two equal-size samples: the optimal assignment (emd2's fast path)."""
    n = len(x)
    M = np.linalg.norm(x[:, None, :].astype(np.float64) - y[None].astype(np.float64), axis=-1)
    w = np.full(n, 1.0 / n)
    return float(cr.info.emd2(w, w, M).item())


def generator():
    return nn.Sequential(nn.Linear(2, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(),
                         nn.Linear(128, 2))


def critic(sn=False):
    layers = [nn.Linear(2, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 1)]
    if sn:
        for layer in layers[::2]:
            spectral_norm(layer)
    return nn.Sequential(*layers)


SN_SCALE = 5.0  # the SN discriminator's logits are 5 D(x): K-Lipschitz with K = 5 (see below)


def train(kind, iters=ITERS, batch=256, seed=0):
    """One of 'GAN', 'SN-GAN', 'WGAN-GP'; returns (G, curve of (iter, modes, W1))."""
    cr.manual_seed(seed)
    rng = np.random.default_rng(seed)
    G, Dn = generator(), critic(sn=kind == "SN-GAN")
    if kind == "WGAN-GP":
        n_critic, lam = 5, 10.0
        opt_g = cr.optim.Adam(G.parameters(), lr=1e-3, betas=(0.5, 0.9))
        opt_d = cr.optim.Adam(Dn.parameters(), lr=1e-3, betas=(0.5, 0.9))
    else:
        n_critic = 1
        opt_g = cr.optim.Adam(G.parameters(), lr=1e-3, betas=(0.5, 0.999))
        opt_d = cr.optim.Adam(Dn.parameters(), lr=1e-3, betas=(0.5, 0.999))
    ones, zeros = cr.ones(batch, 1), cr.zeros(batch, 1)
    # a spectral-normalised ReLU network is 1-Lipschitz: on a ring of radius 2 its logits span
    # a few units, too flat for the logistic loss (measured: 0 of 8 modes after 3000 steps);
    # a fixed scale K keeps it K-Lipschitz (Miyato et al. 2018 normalise to any constant K)
    scale = SN_SCALE if kind == "SN-GAN" else 1.0

    def D(x):
        return Dn(x) * scale if scale != 1.0 else Dn(x)

    fixed_z = cr.randn(N_EVAL, 2)
    eval_real = ring(N_EVAL, np.random.default_rng(99))
    curve = []
    bar = cr.train.Progress(1, iters)
    bar.epoch_begin(1)
    for it in range(1, iters + 1):
        for _ in range(n_critic):
            real = cr.tensor(ring(batch, rng))
            fake = G(cr.randn(batch, 2)).detach()
            if kind == "WGAN-GP":  # max E D(real) - E D(fake) - lam GP
                loss_d = D(fake).mean() - D(real).mean() + \
                    lam * nn.gradient_penalty(D, real, fake)
            else:
                loss_d = F.binary_cross_entropy_with_logits(D(real), ones) + \
                    F.binary_cross_entropy_with_logits(D(fake), zeros)
            opt_d.zero_grad()
            loss_d.backward()
            opt_d.step()
        out = D(G(cr.randn(batch, 2)))
        loss_g = -out.mean() if kind == "WGAN-GP" else \
            F.binary_cross_entropy_with_logits(out, ones)  # non-saturating: -log D(G(z))
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        bar.batch_end(loss_g.item())
        if it % EVERY == 0 or it == iters:
            with cr.no_grad():
                x = G(fixed_z).numpy()
            curve.append((it, modes_covered(x), exact_w1(x, eval_real)))
            cr.save({"generator": G.state_dict(), "critic": Dn.state_dict(),
                     "iteration": it}, OUT / f"{kind}.safetensors")
    bar.epoch_end(1, {"modes": curve[-1][1], "W1": curve[-1][2]})
    bar.close()
    return G, np.array(curve)


results = {}
for kind in ("GAN", "SN-GAN", "WGAN-GP"):
    results[kind] = train(kind)
    it, modes, w = results[kind][1][-1]
    print(f"{kind:8s} after {int(it)} generator steps: {int(modes)} of 8 modes covered, exact W1 "
          f"to the real ring = {w:.4f} (n = {N_EVAL} vs {N_EVAL})")
    back = cr.load(OUT / f"{kind}.safetensors")
    assert int(back["iteration"]) == int(it)  # the checkpoint holds the last evaluation

fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
for kind, (_, curve) in results.items():
    axes[0].plot(curve[:, 0], curve[:, 1], "o-", label=kind)
    axes[1].plot(curve[:, 0], curve[:, 2], "o-", label=kind)
axes[0].set(xlabel="generator step", ylabel="modes covered (of 8)", ylim=(-0.3, 8.3))
axes[1].set(xlabel="generator step", ylabel="exact W1 to the real ring", yscale="log")
for a in axes:
    a.legend()
fig.savefig(OUT / "ring_training.png", dpi=110)
plt.close(fig)

fig, axes = plt.subplots(1, 3, figsize=(11, 3.8), layout="constrained")
real = ring(N_EVAL, np.random.default_rng(5))
for ax, (kind, (G, curve)) in zip(axes, results.items()):
    cr.manual_seed(7)
    with cr.no_grad():
        x = G(cr.randn(N_EVAL, 2)).numpy()
    ax.scatter(*real.T, s=4, color="0.7", label="real")
    ax.scatter(*x.T, s=4, color="tab:red", label="generated")
    ax.set(title=f"{kind}: {int(curve[-1, 1])}/8 modes, W1 {curve[-1, 2]:.3f}", xlim=(-3, 3),
           ylim=(-3, 3), aspect="equal")
    ax.legend(fontsize=7, loc="lower right")
fig.savefig(OUT / "ring_samples.png", dpi=110)
plt.close(fig)
print(f"wrote {OUT}/disjoint_supports.png, ring_training.png, ring_samples.png")

# ---- 3. a GAN and a WGAN-GP on digits ------------------------------------------------------------
X, y = cr.data.load_digits()
X = (np.asarray(X) / 16.0).astype(np.float32)
Xtr, Xte, ytr, yte = (np.asarray(a) for a in cr.data.train_test_split(
    X, np.asarray(y), test_size=0.3, stratify=np.asarray(y), seed=0))
Xtr, Xte = Xtr.astype(np.float32), Xte.astype(np.float32)
cr.manual_seed(0)
classifier = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
cr.train.fit(classifier, F.cross_entropy, cr.optim.Adam(classifier.parameters(), lr=1e-2),
             (Xtr, ytr), epochs=20, batch_size=64, seed=0, progress=False)
acc = cr.train.accuracy_score(yte, cr.train.predict(classifier, Xte))
DIGIT_ITERS, N_DIGITS = (150, 200) if QUICK else (2000, 500)


def digit_gan(kind, iters=DIGIT_ITERS, batch=64, seed=0):
    """A vanilla (non-saturating) GAN or a WGAN-GP on the digit images; returns G."""
    cr.manual_seed(seed)
    rng = np.random.default_rng(seed)
    G = nn.Sequential(nn.Linear(16, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                      nn.Linear(256, 64), nn.Sigmoid())
    Dn = nn.Sequential(nn.Linear(64, 256), nn.LeakyReLU(0.2), nn.Linear(256, 256),
                       nn.LeakyReLU(0.2), nn.Linear(256, 1))
    wgan = kind == "WGAN-GP"
    betas = (0.5, 0.9) if wgan else (0.5, 0.999)
    opt_g = cr.optim.Adam(G.parameters(), lr=5e-4, betas=betas)
    opt_d = cr.optim.Adam(Dn.parameters(), lr=5e-4, betas=betas)
    ones, zeros = cr.ones(batch, 1), cr.zeros(batch, 1)
    bar = cr.train.Progress(1, iters)
    bar.epoch_begin(1)
    for _ in range(iters):
        for _ in range(5 if wgan else 1):
            real = cr.tensor(Xtr[rng.integers(0, len(Xtr), batch)])
            fake = G(cr.randn(batch, 16)).detach()
            loss_d = (Dn(fake).mean() - Dn(real).mean() +
                      10.0 * nn.gradient_penalty(Dn, real, fake)) if wgan else \
                F.binary_cross_entropy_with_logits(Dn(real), ones) + \
                F.binary_cross_entropy_with_logits(Dn(fake), zeros)
            opt_d.zero_grad()
            loss_d.backward()
            opt_d.step()
        out = Dn(G(cr.randn(batch, 16)))
        loss_g = -out.mean() if wgan else F.binary_cross_entropy_with_logits(out, ones)
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        bar.batch_end(loss_g.item())
    bar.epoch_end(1, {"loss_g": loss_g.item()})
    bar.close()
    cr.save({"generator": G.state_dict(), "critic": Dn.state_dict()},
            OUT / f"digits-{kind}.safetensors")
    return G


def pixel_w1(a, b):
    M = np.linalg.norm(a[:, None, :].astype(np.float64) - b[None].astype(np.float64), axis=-1)
    w = np.full(len(a), 1.0 / len(a))
    return float(cr.info.emd2(w, w, M).item())


held = Xte[:N_DIGITS]
floor = pixel_w1(Xtr[np.random.default_rng(1).choice(len(Xtr), N_DIGITS, replace=False)], held)
print(f"digits: classifier for the generated samples, held-out accuracy {acc:.3f}; exact W1 in "
      f"pixel space between {N_DIGITS} training and {N_DIGITS} held-out images = {floor:.3f} "
      "(the floor)")
digit_samples = {}
for kind in ("GAN", "WGAN-GP"):
    G = digit_gan(kind)
    cr.manual_seed(11)
    with cr.no_grad():
        x = G(cr.randn(N_DIGITS, 16)).numpy()
    digit_samples[kind] = x
    labels = cr.train.predict(classifier, x).argmax(1)  # (predict returns the logits)
    share = np.bincount(labels, minlength=10) / len(labels)
    print(f"digits {kind:8s}: exact W1 to held-out = {pixel_w1(x, held):.3f}; classes with >= 2% "
          f"of the samples: {int((share >= 0.02).sum())} of 10 (largest share {share.max():.0%})")
fig, axes = plt.subplots(2, 1, figsize=(8, 4.6), layout="constrained")
for ax, (kind, x) in zip(axes, digit_samples.items()):
    tiles = x[:48].reshape(3, 16, 8, 8).transpose(0, 2, 1, 3).reshape(24, 128)
    ax.imshow(tiles, cmap="gray_r", vmin=0, vmax=1)
    ax.set_title(f"{kind} samples on digits")
    ax.axis("off")
fig.savefig(OUT / "digit_samples.png", dpi=110)
plt.close(fig)
print(f"wrote {OUT}/digit_samples.png")
