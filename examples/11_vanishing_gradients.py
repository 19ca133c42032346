"""Vanishing and exploding gradients, measured: gradient flow, weight spectra, Jacobian spectra.

Seed 000/004's claims, checked with cr.inspect:
1. In a 20-layer sigmoid MLP the gradient shrinks layer by layer (sigma' <= 1/4 per layer), so the
   first layers get almost nothing; a 20-layer ReLU MLP with He initialisation keeps it O(1).
2. Repeated multiplication by a matrix with spectral radius > 1 explodes, < 1 vanishes: the
   backward pass is such a product of layer Jacobians.
3. Condition numbers of the weights are numpy.linalg.cond's.
Plots go to runs/examples/11_*.png.
"""

import os
import pathlib

import matplotlib

matplotlib.use("Agg")

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.inspect import plot

OUT = pathlib.Path("runs/examples")
OUT.mkdir(parents=True, exist_ok=True)
QUICK = os.environ.get("CHAINRULE_QUICK") == "1"
DEPTH, WIDTH = 20, 16 if QUICK else 64


def mlp(activation, he):
    """DEPTH Linear layers; PyTorch's default init, or He-normal weights and zero biases."""
    layers = []
    for i in range(DEPTH):
        linear = nn.Linear(WIDTH if i else 8, WIDTH if i < DEPTH - 1 else 1)
        if he:
            nn.init.kaiming_normal_(linear.weight, nonlinearity="relu")
            nn.init.zeros_(linear.bias)
        layers += [linear, activation()] if i < DEPTH - 1 else [linear]
    return nn.Sequential(*layers)


cr.manual_seed(0)
X, y = cr.randn(128, 8), cr.randn(128, 1)
nets = {"sigmoid, default init": mlp(nn.Sigmoid, he=False), "ReLU, He init": mlp(nn.ReLU, he=True)}
flows = {}
for label, net in nets.items():
    nn.functional.mse_loss(net(X), y).backward()
    flows[label] = cr.inspect.gradient_flow(net, lr=0.01)
    weights = [f for f in flows[label] if len(f.shape) == 2]
    flagged = sum(f.flag == "vanishing" for f in weights)
    print(f"{label}: ||dL/dW|| from layer 1 to {DEPTH}: {weights[0].grad_norm:.2e} ... "
          f"{weights[-1].grad_norm:.2e}; {flagged} of {DEPTH} weights flagged vanishing")
print()
print("sigmoid net, per parameter (ratio = lr ||g|| / ||w||: plain SGD's update-to-weight ratio "
      "at lr 0.01):")
print("\n".join(cr.inspect.format_flow(flows["sigmoid, default init"]).splitlines()[:9]))
print("...")
plot.save(plot.plot_gradient_flow(flows, title=f"Gradient norm per layer, {DEPTH}-layer MLPs"),
          OUT / "11_gradient_flow.png")

# why: each layer multiplies the backward signal by W^T diag(sigma'(z)), and sigma' <= 1/4
print()
spectra_of = {label: cr.inspect.weight_spectra(net) for label, net in nets.items()}
jacobian_sv = {}
for label, net in nets.items():
    spectra = spectra_of[label]
    for s, (_, p) in zip(spectra, [(n, p) for n, p in net.named_parameters() if p.ndim == 2]):
        assert np.isclose(s.condition_number, np.linalg.cond(p.numpy().astype(np.float64)))
    norms = [s.spectral_norm for s in spectra]
    sv = jacobian_sv[label] = cr.inspect.jacobian_spectrum(net, X[:16])
    print(f"{label}: median ||W||_2 = {np.median(norms):.2f}, median cond(W) = "
          f"{np.median([s.condition_number for s in spectra]):.1f} (= numpy.linalg.cond); "
          f"input-output Jacobian: largest singular value {np.median(sv[:, 0]):.2e}")
# J = W_20 D_19 W_19 ... D_1 W_1 with D_l = diag(sigma'(z_l)), sigma' <= 1/4, so
# ||J||_2 <= prod_l ||W_l||_2 * (1/4)^19: a bound from every layer's own spectral norm
norms = np.array([s.spectral_norm for s in spectra_of["sigmoid, default init"]])
bound = float(np.prod(norms) * 0.25 ** (DEPTH - 1))
top = jacobian_sv["sigmoid, default init"][:, 0]  # the largest singular value at each input
measured = float(np.max(top))
assert measured <= bound
print(f"sigmoid: each layer's backward gain is at most ||W_l||_2 * max sigma' = ||W_l||_2 / 4, "
      f"between {norms.min() / 4:.2f} and {norms.max() / 4:.2f} here; so ||J||_2 <= "
      f"prod_l ||W_l||_2 / 4^{DEPTH - 1} = {bound:.1e}; measured: at most {measured:.1e} "
      f"(median over {len(top)} inputs {np.median(top):.1e})")
plot.save(plot.plot_jacobian_spectrum(jacobian_sv), OUT / "11_jacobian_spectrum.png")
plot.save(plot.plot_weight_spectra(spectra_of["ReLU, He init"][:6],
                                   title="Singular values of the first 6 weights (ReLU, He)"),
          OUT / "11_weight_spectra.png")

# seed 004: ||A^k x|| ~ rho(A)^k
print()
rng = np.random.default_rng(0)
Q, _ = np.linalg.qr(rng.standard_normal((8, 8)))
powers = {}
for rho in (1.1, 0.9):
    A = Q @ np.diag(np.r_[rho, np.linspace(0.5, 0.1, 7)]) @ Q.T
    norms = cr.inspect.matrix_power_norms(A, 60)
    powers[f"rho(A) = {cr.inspect.spectral_radius(A):.1f}"] = norms
    print(f"spectral radius {rho}: ||A^60 x|| = {norms[-1]:.3e} "
          f"({'explodes' if norms[-1] > norms[0] else 'vanishes'}; rho^60 = {rho ** 60:.3e})")
plot.save(plot.plot_matrix_powers(powers), OUT / "11_matrix_powers.png")
print(f"plots: {sorted(str(p) for p in OUT.glob('11_*.png'))}")
