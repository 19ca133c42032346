"""torch.nn.utils.parametrizations: spectral_norm as a parametrization (PyTorch's current form).

W_sn = W / sigma(W), sigma estimated by power iteration on the matrix W_mat (W with axis `dim`
moved first, flattened to (h, w)): u <- W_mat v / |W_mat v|, v <- W_mat^T u / |W_mat^T u|,
sigma = u^T W_mat v with u, v constants (no gradient flows through them, as PyTorch). The
vectors are buffers updated in training mode only (n_power_iterations per forward; 15 at
registration); eval mode reuses them, so an eval forward is deterministic.
"""

import numpy as np

from chainrule.core.mode import no_grad
from chainrule.core.tensor import Tensor, bump_version, from_array
from chainrule.nn.module import Module
from chainrule.nn.utils.parametrize import register_parametrization
from chainrule.ops.creation import randn


def _normalized(x, eps):
    """x / max(|x|, eps) (F.normalize along the only axis)."""
    return x / max(float(np.sqrt((x * x).sum())), eps)


def _conv_transpose(module):
    from chainrule.nn.layers.conv import ConvTranspose1d, ConvTranspose2d

    return isinstance(module, (ConvTranspose1d, ConvTranspose2d))


def weight_matrix(weight, dim):
    """W with axis `dim` first, flattened to 2-D (h = W.shape[dim], w = the rest)."""
    if dim != 0:
        weight = weight.permute(dim, *(d for d in range(weight.ndim) if d != dim))
    return weight.reshape(weight.shape[0], -1)


def power_iteration(mat, u, v, n, eps, v_first=False):
    """n power-iteration steps on the ndarray mat, updating u, v (ndarrays) in place."""
    for _ in range(n):
        if v_first:  # the order of torch.nn.utils.spectral_norm (the older hook form)
            v[...] = _normalized(mat.T @ u, eps)
            u[...] = _normalized(mat @ v, eps)
        else:
            u[...] = _normalized(mat @ v, eps)
            v[...] = _normalized(mat.T @ u, eps)


class _SpectralNorm(Module):
    """W / sigma, sigma = u^T W_mat v after power iteration (a 1-D weight: W / |W|)."""

    def __init__(self, weight, n_power_iterations=1, dim=0, eps=1e-12):
        super().__init__()
        ndim = weight.ndim
        if not -ndim <= dim < ndim:
            raise IndexError(f"spectral_norm: dim {dim} out of range for a weight of shape "
                             f"{tuple(weight.shape)} (expected -{ndim} <= dim < {ndim})")
        if n_power_iterations <= 0:
            raise ValueError(f"spectral_norm: n_power_iterations must be positive; got "
                             f"{n_power_iterations}")
        self.dim = dim % ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            mat = weight_matrix(weight.detach(), self.dim)._data
            h, w = mat.shape
            u, v = randn(h, dtype=mat.dtype)._data, randn(w, dtype=mat.dtype)._data
            self.register_buffer("_u", from_array(_normalized(u, eps)))
            self.register_buffer("_v", from_array(_normalized(v, eps)))
            self._power_method(mat, 15)

    def _power_method(self, mat, n):
        power_iteration(mat, self._u._data, self._v._data, n, self.eps)
        bump_version(self._u)
        bump_version(self._v)

    def forward(self, weight):
        if weight.ndim == 1:
            return weight / (weight * weight).sum().sqrt().clamp(min=self.eps)  # F.normalize
        mat = weight_matrix(weight, self.dim)
        if self.training:
            with no_grad():
                self._power_method(mat._data, self.n_power_iterations)
        u, v = from_array(self._u._data.copy()), from_array(self._v._data.copy())
        sigma = (u * (mat @ v)).sum()
        return weight / sigma

    def right_inverse(self, value):
        return value

    def extra_repr(self):
        return f"dim={self.dim}, eps={self.eps}"


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """Register W / sigma(W) on module.<name> (torch.nn.utils.parametrizations.spectral_norm):
    the weight's largest singular value becomes ~1 (the critic is ~1-Lipschitz per layer).
    dim defaults to 0, or 1 for ConvTranspose (their output channels are axis 1). Returns the
    module; the buffers are module.parametrizations.<name>[0]._u and ._v."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"spectral_norm: {type(module).__name__} has no tensor {name!r}")
    if dim is None:
        dim = 1 if _conv_transpose(module) else 0
    return register_parametrization(module, name,
                                    _SpectralNorm(weight, n_power_iterations, dim, eps))


__all__ = ["spectral_norm"]
