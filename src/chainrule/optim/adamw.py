"""AdamW: Adam with decoupled weight decay (Loshchilov & Hutter, 2019)."""

from chainrule.optim.adam import Adam


class AdamW(Adam):
    """AdamW: θ ← θ(1 - γλ);  m ← β₁m + (1-β₁)g;  v ← β₂v + (1-β₂)g²;  θ ← θ - γ m̂/(√v̂ + ε).

    The decay shrinks the weights directly instead of entering m and v through the gradient.
    Default weight_decay=0.01 (PyTorch's). ``amsgrad`` and ``maximize`` as in `Adam`.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True

    def load_state_dict(self, state_dict):
        """As Optimizer.load_state_dict; the weight decay stays decoupled."""
        super().load_state_dict(state_dict)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True
