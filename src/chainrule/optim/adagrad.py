"""Adagrad: per-coordinate learning rates from the running sum of squared gradients."""

import numpy as np

from chainrule.optim.optimizer import Optimizer


class Adagrad(Optimizer):
    """Adagrad: g = ∇f + λθ;  s ← s + g²;  θ ← θ - γ/(1 + (t-1)η) · g / (√s + ε).

    η is ``lr_decay``, s starts at ``initial_accumulator_value``; ``maximize=True`` negates the
    gradient first. State per parameter: ``step``, ``sum`` (created with the optimizer, as in
    PyTorch).
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, *, maximize=False):
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, maximize=maximize)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, group)

    def _check_hyperparameters(self, group):
        for key in ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"):
            self._check_number(group, key)

    def _init_state(self, p, group, state=None):
        """step = 0 and sum = initial_accumulator_value, in `state` (default: self.state[p])."""
        state = self.state[p] if state is None else state
        state["step"] = 0
        state["sum"] = self._new_state(p, float(group["initial_accumulator_value"]))
        return state

    def update(self, p, g, state, group):
        """Adagrad's rule, on one parameter or a whole flat group (arrays)."""
        lr, lr_decay, eps = float(group["lr"]), float(group["lr_decay"]), float(group["eps"])
        if not state:
            self._init_state(p, group, state)
        state["step"] += 1
        clr = lr / (1.0 + (state["step"] - 1) * lr_decay)
        t, u = self._buffers(g, 2)
        d = self._direction(p, g, group, t)
        s = state["sum"]._data
        s += np.multiply(d, d, out=u)
        np.sqrt(s, out=u)
        u += eps
        np.divide(d, u, out=u)
        u *= -clr
        p += u
