"""RMSprop: divide the gradient by a running root-mean-square of recent gradients."""

import numpy as np

from chainrule.optim.optimizer import Optimizer


class RMSprop(Optimizer):
    """RMSprop: v ← αv + (1-α)g²;  ṽ = v - ḡ² if centered (ḡ ← αḡ + (1-α)g);  θ ← θ - γ g/(√ṽ + ε).

    With momentum μ > 0: b ← μb + g/(√ṽ + ε), θ ← θ - γb. g = ∇f + λθ (negated first when
    ``maximize=True``). State per parameter: ``step``, ``square_avg``, and ``momentum_buffer``
    and ``grad_avg`` when momentum > 0 and centered.
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, *, maximize=False):
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group):
        for key in ("lr", "eps", "momentum", "weight_decay", "alpha"):
            self._check_number(group, key)

    def update(self, p, g, state, group):
        """RMSprop's rule, on one parameter or a whole flat group (arrays)."""
        lr, alpha, eps = float(group["lr"]), float(group["alpha"]), float(group["eps"])
        mu, centered = float(group["momentum"]), group["centered"]
        if not state:
            state["step"] = 0
            state["square_avg"] = self._new_state(p)
            if mu > 0:
                state["momentum_buffer"] = self._new_state(p)
            if centered:
                state["grad_avg"] = self._new_state(p)
        state["step"] += 1
        t, u = self._buffers(g, 2)
        d = self._direction(p, g, group, t)
        v = state["square_avg"]._data
        v *= alpha
        np.multiply(d, d, out=u)
        u *= 1.0 - alpha
        v += u
        if centered:
            m = state["grad_avg"]._data
            m += np.multiply(np.subtract(d, m, out=u), 1.0 - alpha, out=u)  # lerp
            np.multiply(m, m, out=u)
            np.subtract(v, u, out=u)
            np.sqrt(u, out=u)
        else:
            np.sqrt(v, out=u)
        u += eps
        np.divide(d, u, out=u)
        if mu > 0:
            b = state["momentum_buffer"]._data
            b *= mu
            b += u
            np.multiply(b, -lr, out=u)
        else:
            u *= -lr
        p += u
