"""NAdam: Adam with Nesterov momentum (Dozat, 2016), with torch's momentum-decay schedule."""

import math

import numpy as np

from chainrule.optim.adam import Adam


class NAdam(Adam):
    """NAdam: μₜ = β₁(1 - ½·0.96^(tψ));  m ← β₁m + (1-β₁)g;  v ← β₂v + (1-β₂)g²;
    θ ← θ - γ[(1-μₜ)/(1-Πμ) g + μₜ₊₁/(1-Πμ·μₜ₊₁) m] / (√(v/(1-β₂ᵗ)) + ε)   (ψ = momentum_decay).

    g = ∇f + λθ, or decoupled decay θ ← θ(1 - γλ) (``decoupled_weight_decay=True``), as torch.
    State per parameter: ``step``, ``mu_product``, ``exp_avg``, ``exp_avg_sq``.
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, maximize=False):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay, maximize=maximize,
                        decoupled_weight_decay=decoupled_weight_decay)
        super(Adam, self).__init__(params, defaults)

    def update(self, p, g, state, group):
        """NAdam's rule, on one parameter or a whole flat group (arrays)."""
        lr, eps = float(group["lr"]), float(group["eps"])
        beta1, beta2 = (float(b) for b in group["betas"])
        psi = float(group["momentum_decay"])
        decay = 1.0 - lr * float(group["weight_decay"])
        if not state:
            state["step"] = 0
            state["mu_product"] = 1.0
            state["exp_avg"] = self._new_state(p)
            state["exp_avg_sq"] = self._new_state(p)
        state["step"] += 1
        step = state["step"]
        if group["decoupled_weight_decay"] and decay != 1.0:
            p *= decay
        t, u = self._buffers(g, 2)
        d = self._direction(p, g, group, t)
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * psi))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * psi))
        state["mu_product"] *= mu
        prod = state["mu_product"]
        m, v = state["exp_avg"]._data, state["exp_avg_sq"]._data
        m += np.multiply(np.subtract(d, m, out=u), 1.0 - beta1, out=u)  # lerp
        v *= beta2
        v += np.multiply(np.multiply(d, d, out=u), 1.0 - beta2, out=u)
        np.sqrt(v, out=u)
        u /= math.sqrt(1.0 - beta2 ** step)
        u += eps  # u is the denominator now
        p -= (lr * (1.0 - mu) / (1.0 - prod)) * d / u
        p -= (lr * mu_next / (1.0 - prod * mu_next)) * m / u
