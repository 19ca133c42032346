"""torch.nn.utils.spectral_norm: the older, hook-based form of spectral normalisation.

The same estimate W / sigma(W) as parametrizations.spectral_norm, stored as PyTorch's older
function stores it: the parameter <name>_orig, buffers <name>_u and <name>_v (state_dict keys
weight_orig, weight_u, weight_v), and a forward pre-hook that recomputes module.<name> before
each forward. Its power step updates v first (v <- W^T u, then u <- W v), and it runs no
iterations at registration, exactly as PyTorch's.
"""

from chainrule.core.mode import no_grad
from chainrule.core.tensor import Tensor, bump_version, from_array
from chainrule.nn.utils.parametrizations import (
    _conv_transpose,
    _normalized,
    power_iteration,
    weight_matrix,
)
from chainrule.ops.creation import randn


class SpectralNorm:
    """The forward pre-hook: module.<name> = <name>_orig / sigma, sigma = u^T W_mat v."""

    def __init__(self, name="weight", n_power_iterations=1, dim=0, eps=1e-12):
        if n_power_iterations <= 0:
            raise ValueError(f"spectral_norm: n_power_iterations must be positive; got "
                             f"{n_power_iterations}")
        self.name, self.n_power_iterations, self.dim, self.eps = name, n_power_iterations, \
            dim, eps

    def compute_weight(self, module, do_power_iteration):
        weight = getattr(module, self.name + "_orig")
        u, v = getattr(module, self.name + "_u"), getattr(module, self.name + "_v")
        mat = weight_matrix(weight, self.dim)
        if do_power_iteration:
            with no_grad():
                power_iteration(mat._data, u._data, v._data, self.n_power_iterations, self.eps,
                                v_first=True)
            bump_version(u)
            bump_version(v)
        u, v = from_array(u._data.copy()), from_array(v._data.copy())
        return weight / (u * (mat @ v)).sum()

    def __call__(self, module, inputs):
        object.__setattr__(module, self.name, self.compute_weight(module, module.training))


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """Spectral normalisation by a forward pre-hook (torch.nn.utils.spectral_norm); dim
    defaults to 0, or 1 for ConvTranspose. Returns the module."""
    for hook in module._forward_pre_hooks.values():
        if isinstance(hook, SpectralNorm) and hook.name == name:
            raise RuntimeError(f"spectral_norm: {name!r} of {type(module).__name__} is already "
                               "spectrally normalised")
    weight = module.__dict__["_parameters"].get(name)
    if weight is None:
        raise ValueError(f"spectral_norm: {type(module).__name__} has no parameter {name!r}")
    if dim is None:
        dim = 1 if _conv_transpose(module) else 0
    if not -weight.ndim <= dim < weight.ndim or weight.ndim < 2:
        raise ValueError(f"spectral_norm: a weight of shape {tuple(weight.shape)} with dim {dim}"
                         " has no matrix form (needs ndim >= 2 and dim in range)")
    fn = SpectralNorm(name, n_power_iterations, dim % weight.ndim, eps)
    h, w = weight_matrix(weight.detach(), fn.dim).shape
    u = _normalized(randn(h, dtype=weight.dtype)._data, eps)
    v = _normalized(randn(w, dtype=weight.dtype)._data, eps)
    delattr(module, name)
    module.register_parameter(name + "_orig", weight)
    object.__setattr__(module, name, Tensor(weight._data.copy()))  # a plain attribute, as torch
    module.register_buffer(name + "_u", from_array(u))
    module.register_buffer(name + "_v", from_array(v))
    module.register_forward_pre_hook(fn)
    return module


def remove_spectral_norm(module, name="weight"):
    """Undo spectral_norm: <name> becomes a Parameter holding the normalised weight."""
    from chainrule.nn.module import Parameter

    for key, hook in list(module._forward_pre_hooks.items()):
        if isinstance(hook, SpectralNorm) and hook.name == name:
            with no_grad():
                weight = hook.compute_weight(module, do_power_iteration=False)
            del module._forward_pre_hooks[key]
            orig = module._parameters.pop(name + "_orig")
            del module._buffers[name + "_u"], module._buffers[name + "_v"]
            module.__dict__.pop(name, None)
            module.register_parameter(name, Parameter(weight._data.copy(), orig.requires_grad))
            return module
    raise ValueError(f"remove_spectral_norm: spectral_norm of {name!r} not found in "
                     f"{type(module).__name__}")
