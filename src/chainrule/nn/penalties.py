"""Regularization penalties Omega(theta) for the objective J(theta) = L(y, y_hat) + lambda Omega.

L2 (ridge, "weight decay") shrinks every weight toward zero; L1 (lasso) drives some exactly
to zero. SGD's weight_decay=wd adds wd theta to the gradient, the same as lambda = wd / 2 here.
"""

from chainrule.core.tensor import Tensor


def _params(parameters):
    if hasattr(parameters, "parameters") and callable(parameters.parameters):
        parameters = parameters.parameters()
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    if not params:
        raise ValueError("penalty: got no parameters")
    return params


def l1_penalty(parameters):
    """Omega_1(theta) = sum_i |theta_i|;  d/dtheta = sign(theta)."""
    params = _params(parameters)
    total = params[0].abs().sum()
    for p in params[1:]:
        total = total + p.abs().sum()
    return total


def l2_penalty(parameters):
    """Omega_2(theta) = sum_i theta_i^2 (the squared norm ||theta||^2);  d/dtheta = 2 theta."""
    params = _params(parameters)
    total = (params[0] * params[0]).sum()
    for p in params[1:]:
        total = total + (p * p).sum()
    return total


def penalized(loss, parameters, l1=0.0, l2=0.0):
    """J(theta) = loss + l1 Omega_1(theta) + l2 Omega_2(theta) (elastic net when both > 0).

    `parameters` is a Module (all its parameters) or an iterable of tensors, e.g. only the
    weights: [m.weight for m in model.modules() if isinstance(m, cr.nn.Linear)].
    """
    if l1 < 0 or l2 < 0:
        raise ValueError(f"penalized: l1 and l2 must be non-negative; got l1={l1}, l2={l2}")
    params = _params(parameters)
    if l1:
        loss = loss + l1 * l1_penalty(params)
    if l2:
        loss = loss + l2 * l2_penalty(params)
    return loss


def gradient_penalty(critic, real, fake, alpha=None, target=1.0, generator=None):
    """WGAN-GP's penalty (Gulrajani et al. 2017): mean_n (||grad_x D(x_n)||_2 - target)^2 at
    x_n = alpha_n real_n + (1 - alpha_n) fake_n, alpha_n ~ U[0, 1) per sample unless given.

    Differentiable in the critic's parameters by double backprop (the inner gradient is taken
    with create_graph=True); multiply by lambda (10 in the paper) and add to the critic's loss.
    """
    import numpy as np

    from chainrule.core.engine import grad
    from chainrule.ops.arithmetic import const, to_tensor
    from chainrule.ops.creation import rand
    from chainrule.ops.elementwise import where

    like = next(iter(critic.parameters()), None) if hasattr(critic, "parameters") else None
    real, fake = to_tensor(real, like), to_tensor(fake, like)
    real = real.astype(fake.dtype) if real.dtype != fake.dtype else real
    if real.shape != fake.shape or real.ndim < 1:
        raise ValueError(f"gradient_penalty: real and fake must have the same shape (N, ...); "
                         f"got {tuple(real.shape)} and {tuple(fake.shape)}")
    shape = (real.shape[0],) + (1,) * (real.ndim - 1)
    if alpha is None:
        alpha = rand(*shape, generator=generator, dtype=fake.dtype)
    else:
        alpha = to_tensor(alpha, like=fake).astype(fake.dtype).reshape(shape)
    x = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    (g,) = grad(critic(x).sum(), x, create_graph=True)
    sq = (g * g).reshape(g.shape[0], -1).sum(1)
    positive = sq > 0  # |g| = 0: value 0 and gradient 0 (as torch's norm), not sqrt's NaN
    norm = where(positive, where(positive, sq, const(np.ones((), sq.dtype), sq)).sqrt(),
                 const(np.zeros((), sq.dtype), sq))
    return ((norm - target) ** 2).mean()
