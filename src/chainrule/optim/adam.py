"""Adam: bias-corrected running means of the gradient and of its square (Kingma & Ba, 2015)."""

import numpy as np

from chainrule import _numba
from chainrule.optim.optimizer import Optimizer, bias_corrections


class Adam(Optimizer):
    """Adam: m ← β₁m + (1-β₁)g;  v ← β₂v + (1-β₂)g²;  θ ← θ - γ (m/(1-β₁ᵗ)) / (√(v/(1-β₂ᵗ)) + ε).

    g = ∇f + λθ (negated first when ``maximize=True``). ``amsgrad=True`` uses
    v_max ← max(v_max, v) in place of v in the denominator. ``decoupled_weight_decay=True``
    decays θ ← θ(1 - γλ) instead of adding λθ to g (that is AdamW). State per parameter:
    ``step``, ``exp_avg``, ``exp_avg_sq`` (and ``max_exp_avg_sq`` with amsgrad).

        >>> import chainrule as cr
        >>> w = cr.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = cr.optim.Adam([w], lr=0.1)
        >>> (w * w).sum().backward(); opt.step()    # the first step moves each w by ~lr
        >>> [round(x, 4) for x in w.data.tolist()]
        [0.9, -1.9]
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, maximize=False, decoupled_weight_decay=False):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group):
        name = type(self).__name__
        self._check_number(group, "lr")
        self._check_number(group, "eps")
        betas = group.get("betas")
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"{name}: betas must be a pair (beta1, beta2); got {betas!r}")
        for i, b in enumerate(betas):
            self._check_number({f"betas[{i}]": b}, f"betas[{i}]", high=1.0, high_open=True)
        self._check_number(group, "weight_decay")

    def update(self, p, g, state, group):
        """Adam's rule, on one parameter or a whole flat group (arrays)."""
        lr, eps = float(group["lr"]), float(group["eps"])
        beta1, beta2 = (float(b) for b in group["betas"])
        amsgrad = group["amsgrad"]
        decay = 1.0 - lr * float(group["weight_decay"])
        decoupled = group.get("decoupled_weight_decay", False) and decay != 1.0
        if not state:
            state["step"] = 0
            state["exp_avg"] = self._new_state(p)
            state["exp_avg_sq"] = self._new_state(p)
            if amsgrad:
                state["max_exp_avg_sq"] = self._new_state(p)
        state["step"] += 1
        bc1, bc2_sqrt = bias_corrections(beta1, beta2, state["step"])
        if decoupled:
            p *= decay
        t, u = self._buffers(g, 2)
        d = self._direction(p, g, group, t)
        m, v = state["exp_avg"]._data, state["exp_avg_sq"]._data
        kernels = None if amsgrad else _numba.get()
        if kernels is not None and _numba.fits(p, d, m, v):  # the passes below, fused
            c = p.dtype.type
            kernels.adam(p, d, m, v,
                         c(1.0 - beta1), c(1.0 - beta2), c(beta2), c(eps * bc2_sqrt),
                         c(-lr * bc2_sqrt / bc1))
            return
        m += np.multiply(np.subtract(d, m, out=u), 1.0 - beta1, out=u)  # lerp
        v *= beta2
        v += np.multiply(np.multiply(d, d, out=u), 1.0 - beta2, out=u)
        if amsgrad:
            v = np.maximum(state["max_exp_avg_sq"]._data, v,
                           out=state["max_exp_avg_sq"]._data)
        # γ m̂ / (√v̂ + ε) = (γ √(1-β₂ᵗ) / (1-β₁ᵗ)) · m / (√v + ε √(1-β₂ᵗ)): one pass less
        np.sqrt(v, out=u)
        u += eps * bc2_sqrt
        np.divide(m, u, out=u)
        u *= -lr * bc2_sqrt / bc1
        p += u
