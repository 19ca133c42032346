"""RAdam: Adam whose adaptive step is switched on once the variance of its estimate is
tractable (Liu et al., 2020), as torch."""

import math

import numpy as np

from chainrule.optim.adam import Adam


class RAdam(Adam):
    """RAdam: m ← β₁m + (1-β₁)g;  v ← β₂v + (1-β₂)g²;  ρ∞ = 2/(1-β₂) - 1;
    ρₜ = ρ∞ - 2tβ₂ᵗ/(1-β₂ᵗ);  θ ← θ - γ m̂ rₜ √(1-β₂ᵗ)/(√v + ε) when ρₜ > 5, else θ - γ m̂,
    with m̂ = m/(1-β₁ᵗ) and rₜ = √((ρₜ-4)(ρₜ-2)ρ∞ / ((ρ∞-4)(ρ∞-2)ρₜ)).

    g = ∇f + λθ, or decoupled decay θ ← θ(1 - γλ) (``decoupled_weight_decay=True``), as torch.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, maximize=False):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        maximize=maximize, decoupled_weight_decay=decoupled_weight_decay)
        super(Adam, self).__init__(params, defaults)

    def update(self, p, g, state, group):
        """RAdam's rule, on one parameter or a whole flat group (arrays)."""
        lr, eps = float(group["lr"]), float(group["eps"])
        beta1, beta2 = (float(b) for b in group["betas"])
        decay = 1.0 - lr * float(group["weight_decay"])
        if not state:
            state["step"] = 0
            state["exp_avg"] = self._new_state(p)
            state["exp_avg_sq"] = self._new_state(p)
        state["step"] += 1
        step = state["step"]
        if group["decoupled_weight_decay"] and decay != 1.0:
            p *= decay
        t, u = self._buffers(g, 2)
        d = self._direction(p, g, group, t)
        m, v = state["exp_avg"]._data, state["exp_avg_sq"]._data
        m += np.multiply(np.subtract(d, m, out=u), 1.0 - beta1, out=u)  # lerp
        v *= beta2
        v += np.multiply(np.multiply(d, d, out=u), 1.0 - beta2, out=u)
        bc1, bc2 = 1.0 - beta1 ** step, 1.0 - beta2 ** step
        rho_inf = 2.0 / (1.0 - beta2) - 1.0
        rho = rho_inf - 2.0 * step * beta2 ** step / bc2
        if rho > 5.0:
            r = math.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
            np.sqrt(v, out=u)
            u += eps
            np.divide(m, u, out=u)
            u *= -lr * r * math.sqrt(bc2) / bc1
        else:  # the variance of the adaptive rate is intractable yet: SGD with momentum
            np.multiply(m, -lr / bc1, out=u)
        p += u
