"""Adadelta: a step size from running averages of squared gradients and squared updates
(Zeiler, 2012), as torch."""

import numpy as np

from chainrule.optim.optimizer import Optimizer


class Adadelta(Optimizer):
    """Adadelta: v ← ρv + (1-ρ)g²;  Δ = √(u + ε)/√(v + ε) · g;  u ← ρu + (1-ρ)Δ²;  θ ← θ - γΔ.

    g = ∇f + λθ (negated first when ``maximize=True``). State per parameter: ``step``,
    ``square_avg``, ``acc_delta``.
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, *, maximize=False):
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group):
        self._check_number(group, "lr")
        self._check_number(group, "rho", high=1.0)
        self._check_number(group, "eps")
        self._check_number(group, "weight_decay")

    def update(self, p, g, state, group):
        """Adadelta's rule, on one parameter or a whole flat group (arrays)."""
        lr, rho, eps = float(group["lr"]), float(group["rho"]), float(group["eps"])
        if not state:
            state["step"] = 0
            state["square_avg"] = self._new_state(p)
            state["acc_delta"] = self._new_state(p)
        state["step"] += 1
        t, u = self._buffers(g, 2)
        d = self._direction(p, g, group, t)
        v, acc = state["square_avg"]._data, state["acc_delta"]._data
        v *= rho
        v += np.multiply(np.multiply(d, d, out=u), 1.0 - rho, out=u)
        delta = np.sqrt(acc + eps) / np.sqrt(v + eps) * d
        acc *= rho
        acc += (1.0 - rho) * delta * delta
        p -= lr * delta
