"""Taylor models: f(x0 + d) ~ f(x0) + g^T d + 1/2 d^T H d, the basis of Newton's method.

The first-order model is what gradient descent trusts; the second-order model adds curvature,
and its stationary point x0 - H^{-1} g is exactly the (undamped) Newton step. g and H come from
autodiff at x0; the model is built from chainrule ops, so it can be differentiated too.

    >>> import chainrule as cr
    >>> q = cr.optimize.taylor(lambda x: (x ** 3).sum(), [1.0], order=2)
    >>> float(q([1.5]).item())   # 1 + 3 (0.5) + 1/2 6 (0.5)^2
    3.25
"""

import numpy as np

from chainrule.core import mode as _mode
from chainrule.core.tensor import Tensor, from_array
from chainrule.optimize.objective import Objective, as_float_array


class TaylorModel:
    """The order-1 or order-2 Taylor polynomial of f around x0 (a callable).

    Attributes: x0, order, value f(x0), grad (shape of x0), hess ((n, n), order 2 only).
    Calling it on x of shape x0.shape, or with extra leading (batch) axes, returns a Tensor
    with the batch shape.
    """

    def __init__(self, f, x0, order=2):
        if order not in (1, 2):
            raise ValueError(f"taylor: order must be 1 or 2; got {order!r}")
        x0 = as_float_array(x0, "x0", "taylor")
        objective = Objective(f, x0, op="taylor")
        flat = x0.ravel()
        value, g = objective.value_and_grad(flat)
        self.x0, self.order, self.value = x0, order, value
        self.grad = g.reshape(x0.shape)
        self.hess = objective.hess(flat) if order == 2 else None

    def __call__(self, x):
        """f(x0) + g^T d (+ 1/2 d^T H d) with d = x - x0; leading axes of x are a batch."""
        x = x if isinstance(x, Tensor) else from_array(as_float_array(x, "x", "taylor"))
        shape = self.x0.shape
        if x.shape[x.ndim - len(shape):] != shape:
            raise ValueError(f"taylor: x must have shape {shape} (with optional leading batch "
                             f"axes); got {x.shape}")
        batch = x.shape[:x.ndim - len(shape)]
        n = self.x0.size
        d = (x - from_array(self.x0)).reshape(-1, n)
        out = d @ from_array(self.grad.reshape(n)) + self.value
        if self.order == 2:
            out = out + 0.5 * ((d @ from_array(self.hess)) * d).sum(axis=1)
        return out.reshape(batch)

    def newton_step(self):
        """The stationary point of the order-2 model minus x0: d = -H^{-1} g."""
        if self.order != 2:
            raise ValueError("taylor: newton_step needs the order-2 model; got order=1")
        try:
            d = np.linalg.solve(self.hess, -self.grad.ravel())
        except np.linalg.LinAlgError as e:
            raise ValueError("taylor: the Hessian at x0 is singular, the model has no unique "
                             "stationary point") from e
        return d.reshape(self.x0.shape)

    def __repr__(self):
        return f"TaylorModel(order={self.order}, x0={self.x0.tolist()}, value={self.value:g})"


def taylor(f, x0, order=2):
    """Return the Taylor model of scalar f around x0 of the given order (1 or 2) as a callable."""
    with _mode.enable_grad():
        return TaylorModel(f, x0, order)
