"""Adamax: Adam with the infinity norm in place of the root mean square (Kingma & Ba, 2015)."""

import numpy as np

from chainrule.optim.adam import Adam


class Adamax(Adam):
    """Adamax: m ← β₁m + (1-β₁)g;  u ← max(β₂u, |g| + ε);  θ ← θ - (γ/(1-β₁ᵗ)) m/u.

    g = ∇f + λθ (negated first when ``maximize=True``), as torch. State per parameter:
    ``step``, ``exp_avg``, ``exp_inf``.

        >>> import chainrule as cr
        >>> w = cr.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = cr.optim.Adamax([w], lr=0.1)
        >>> (w * w).sum().backward(); opt.step()    # the first step moves each w by ~lr
        >>> [round(x, 4) for x in w.data.tolist()]
        [0.9, -1.9]
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, *,
                 maximize=False):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        maximize=maximize)
        super(Adam, self).__init__(params, defaults)

    def update(self, p, g, state, group):
        """Adamax's rule, on one parameter or a whole flat group (arrays)."""
        lr, eps = float(group["lr"]), float(group["eps"])
        beta1, beta2 = (float(b) for b in group["betas"])
        if not state:
            state["step"] = 0
            state["exp_avg"] = self._new_state(p)
            state["exp_inf"] = self._new_state(p)
        state["step"] += 1
        t, u = self._buffers(g, 2)
        d = self._direction(p, g, group, t)
        m, n = state["exp_avg"]._data, state["exp_inf"]._data
        m += np.multiply(np.subtract(d, m, out=u), 1.0 - beta1, out=u)  # lerp
        n *= beta2
        np.abs(d, out=u)
        u += eps
        np.maximum(n, u, out=n)
        np.divide(m, n, out=u)
        u *= -lr / (1.0 - beta1 ** state["step"])
        p += u
