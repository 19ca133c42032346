"""Gradient clipping and flat parameter vectors (torch.nn.utils.clip_grad, convert_parameters)."""

import numpy as np

from chainrule import ops as _ops
from chainrule.compile import effect
from chainrule.core.backend import asarray as _asarray
from chainrule.core.tensor import Tensor, bump_version, from_array


def _tensors(parameters):
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


@effect
def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scale all gradients in place by min(1, max_norm / (||g|| + 1e-6)), ||g|| the norm of the
    concatenated gradients; returns ||g|| (before clipping) as a Tensor."""
    grads = [p.grad for p in _tensors(parameters) if p.grad is not None]
    norm_type = float(norm_type)
    if not grads:
        return from_array(np.zeros((), dtype=np.float32))
    if norm_type == np.inf:
        total = max(float(np.max(np.abs(g._data))) if g.size else 0.0 for g in grads)
    else:
        total = sum(float(np.sum(np.abs(g._data.astype(np.float64)) ** norm_type))
                    for g in grads) ** (1.0 / norm_type)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the "
                           f"gradients is non-finite ({total}), so it cannot be clipped; set "
                           "error_if_nonfinite=False to ignore")
    coef = min(max_norm / (total + 1e-6), 1.0)
    for g in grads:
        g._data *= g._data.dtype.type(coef)
        bump_version(g)
    return from_array(_asarray(total, grads[0].dtype, grads[0]._data))


@effect
def clip_grad_value_(parameters, clip_value):
    """Clamp every gradient in place into [-clip_value, clip_value]."""
    clip_value = float(clip_value)
    for p in _tensors(parameters):
        if p.grad is not None:
            np.clip(p.grad._data, -clip_value, clip_value, out=p.grad._data)
            bump_version(p.grad)


def parameters_to_vector(parameters):
    """All parameters flattened and joined into one 1-D tensor (differentiable)."""
    params = _tensors(parameters)
    if not params:
        raise ValueError("parameters_to_vector: got no parameters")
    return _ops.concatenate([p.reshape(-1) for p in params])


def vector_to_parameters(vec, parameters):
    """Copy consecutive slices of the 1-D vec into the parameters, in place."""
    data = vec._data if isinstance(vec, Tensor) else np.asarray(vec)
    if not isinstance(vec, Tensor):
        raise TypeError(f"vector_to_parameters: expected vec to be a Tensor; got "
                        f"{type(vec).__name__}")
    params = _tensors(parameters)
    total = sum(p.numel() for p in params)
    if data.ndim != 1 or data.size != total:
        raise ValueError(f"vector_to_parameters: vec must be 1-D with {total} elements (the "
                         f"parameters' total); got shape {data.shape}")
    start = 0
    for p in params:
        np.copyto(p._data, data[start:start + p.numel()].reshape(p.shape), casting="unsafe")
        bump_version(p)
        start += p.numel()
