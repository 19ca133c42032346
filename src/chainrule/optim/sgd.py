"""Stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay."""

import numpy as np

from chainrule import _numba
from chainrule.optim.optimizer import Optimizer


class SGD(Optimizer):
    """SGD: g = ∇f + λθ;  b = μb + (1-τ)g (b_1 = g);  θ ← θ - γ(g + μb if nesterov else b).

    With ``maximize=True`` the gradient is negated first. Same defaults as PyTorch 2.x
    (lr=1e-3). State per parameter: ``momentum_buffer`` (when momentum != 0).

        >>> import chainrule as cr
        >>> w = cr.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = cr.optim.SGD([w], lr=0.1)
        >>> (w * w).sum().backward(); opt.step()
        >>> w.data.tolist()
        [0.800000011920929, -1.600000023841858]
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, *, maximize=False):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group):
        self._check_number(group, "lr")
        self._check_number(group, "momentum")
        self._check_number(group, "weight_decay")
        self._check_number(group, "dampening", low=-np.inf)
        if group.get("nesterov") and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(f"SGD: Nesterov momentum requires a momentum and zero dampening; "
                             f"got momentum={group['momentum']}, "
                             f"dampening={group['dampening']}")

    def update(self, p, g, state, group):
        """SGD's rule, on one parameter or a whole flat group (arrays)."""
        lr = float(group["lr"])
        mu = float(group["momentum"])
        damp = float(group["dampening"])
        t, u = self._buffers(g, 2)
        d = self._direction(p, g, group, t)
        buf = state.get("momentum_buffer") if mu != 0.0 else None
        kernels = _numba.get()
        # one fused pass; below ~4k entries plain SGD's two NumPy passes are faster (the
        # kernel call costs ~0.5 us more); momentum's four are slower at any size
        if kernels is not None and (
                (mu == 0.0 and p.size >= 4096)
                or (buf is not None and damp == 0.0 and not group["nesterov"])) \
                and _numba.fits(p, d, p if buf is None else buf._data):
            c = p.dtype.type
            if buf is None:
                kernels.sgd(p, d, c(-lr))
            else:
                kernels.sgd_momentum(p, d, buf._data, c(mu), c(-lr))
            return
        if mu != 0.0:
            if buf is None:
                buf = state["momentum_buffer"] = self._new_state(p)
                np.copyto(buf._data, d)
            else:
                b = buf._data
                b *= mu
                if damp == 0.0:
                    b += d
                else:
                    b += np.multiply(d, 1.0 - damp, out=u)
            if group["nesterov"]:
                d = np.add(d, np.multiply(buf._data, mu, out=u), out=u)
            else:
                d = buf._data
        p += np.multiply(d, -lr, out=u)
