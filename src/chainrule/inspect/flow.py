"""Gradient flow: per-layer gradient norms, weight norms and update-to-weight ratios, with flags.

Backpropagation multiplies the upstream gradient by one local Jacobian per layer, so through depth
the gradient scales like a product of factors: below 1 (sigmoid: sigma' <= 1/4) it vanishes,
above 1 it explodes. `gradient_flow` reads each parameter's .grad after backward() and compares
its norm with the output-side layer's, the one nearest the loss.
"""

from dataclasses import dataclass

import numpy as np


@dataclass
class LayerFlow:
    """One parameter's gradient after backward(): ||g||, ||w||, ratio ||g||/||w|| (x lr), flag."""

    name: str
    shape: tuple
    grad_norm: float
    weight_norm: float
    ratio: float
    flag: str  # 'ok' | 'vanishing' | 'exploding'


def _norm(a):
    return float(np.linalg.norm(np.asarray(a, dtype=np.float64).reshape(-1)))


def _named_parameters(model):
    if hasattr(model, "named_parameters"):
        return list(model.named_parameters())
    if isinstance(model, dict):
        return list(model.items())
    raise TypeError(f"gradient_flow: expected a Module (with named_parameters()) or a dict "
                    f"name -> parameter; got {type(model).__name__}")


def gradient_flow(model, lr=None, vanishing=1e-3, exploding=1e3, reference=None):
    """Per parameter with a .grad: ||dL/dw||, ||w||, ||dL/dw||/||w|| (times lr: the update ratio).

    Call after ``loss.backward()``. A parameter is flagged ``'vanishing'`` when its gradient norm
    is below ``vanishing`` times the reference gradient norm (or exactly 0), ``'exploding'`` when
    above ``exploding`` times it or not finite. The reference is the gradient norm of parameter
    ``reference`` (a name), by default of the last weight (ndim >= 2) in named_parameters()
    order: the output layer of a feed-forward net, where the gradient enters.

        >>> import chainrule as cr
        >>> model = cr.nn.Linear(3, 1)
        >>> model(cr.ones(2, 3)).sum().backward()
        >>> [f.name for f in gradient_flow(model)]
        ['weight', 'bias']
    """
    if lr is not None and (isinstance(lr, bool) or not np.isscalar(lr) or not lr > 0):
        raise ValueError(f"gradient_flow: lr must be a positive number or None; got {lr!r}")
    if not 0 < vanishing < 1 < exploding:
        raise ValueError(f"gradient_flow: need 0 < vanishing < 1 < exploding; got "
                         f"vanishing={vanishing}, exploding={exploding}")
    entries = []
    for name, p in _named_parameters(model):
        if p.grad is None:
            continue
        g, w = _norm(p.grad.numpy()), _norm(p.numpy())
        ratio = g / w if w > 0 else (0.0 if g == 0 else float("inf"))
        entries.append((name, tuple(p.shape), g, w, ratio * (lr if lr is not None else 1.0)))
    if not entries:
        return []
    names = [e[0] for e in entries]
    if reference is None:
        weights = [e for e in entries if len(e[1]) >= 2] or entries
        ref = weights[-1][2]
    elif reference in names:
        ref = entries[names.index(reference)][2]
    else:
        raise ValueError(f"gradient_flow: reference {reference!r} is not a parameter with a "
                         f"gradient; got names {names}")
    flows = []
    for name, shape, g, w, ratio in entries:
        if not np.isfinite(g) or (np.isfinite(ref) and ref > 0 and g > exploding * ref):
            flag = "exploding"
        elif g == 0 or (np.isfinite(ref) and g < vanishing * ref):
            flag = "vanishing"
        else:
            flag = "ok"
        flows.append(LayerFlow(name, shape, g, w, ratio, flag))
    return flows


def format_flow(flows):
    """gradient_flow(...) as an aligned text table, one parameter a line."""
    if not flows:
        return "no parameter has a gradient (call backward() first)"
    width = max(len(f.name) for f in flows)
    lines = [f"{'parameter':<{width}}  {'shape':<12} {'||grad||':>10} {'||w||':>10} "
             f"{'ratio':>10}  flag"]
    for f in flows:
        lines.append(f"{f.name:<{width}}  {str(f.shape):<12} {f.grad_norm:>10.3e} "
                     f"{f.weight_norm:>10.3e} {f.ratio:>10.3e}  {f.flag}")
    return "\n".join(lines)
