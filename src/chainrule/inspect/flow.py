"""Gradient flow: per-layer gradient norms, weight norms and update-to-weight ratios, with flags.

Backpropagation multiplies the upstream gradient by one local Jacobian per layer, so through depth
the gradient scales like a product of factors: below 1 (sigmoid: sigma' <= 1/4) it vanishes,
above 1 it explodes. `gradient_flow` reads each parameter's .grad after backward() and compares
its norm with the output-side layer's, the one nearest the loss, and with an absolute bound, so
a net whose every gradient is huge is flagged too.
"""

from dataclasses import dataclass

import numpy as np

from chainrule._device import require_host as _require_host


@dataclass
class LayerFlow:
    """One parameter's gradient after backward(): ||g||, ||w||, ratio ||g||/||w|| (x lr), flag."""

    name: str
    shape: tuple
    grad_norm: float
    weight_norm: float
    ratio: float  # ||g||/||w||; x lr with lr=; ||dw||/||w|| of a real step with optimizer=
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


def gradient_flow(model, lr=None, vanishing=1e-3, exploding=1e3, reference=None, max_norm=1e3,
                  optimizer=None):
    """Per parameter with a .grad: ||dL/dw||, ||w|| and an update ratio, with a flag.

    Call after ``loss.backward()``. The ratio is ||dL/dw||/||w||; with ``lr`` it is
    lr ||dL/dw||/||w||, the update ratio of plain SGD; with ``optimizer`` it is ||dw||/||w||
    of that optimizer's actual next step (taken on copies: the model and the optimizer are left
    as they are), the only right one for Adam and the other adaptive optimizers, whose steps
    are not proportional to the gradient.

    A parameter is flagged ``'exploding'`` when its gradient norm is not finite, above
    ``max_norm`` (absolute: a uniformly exploding net is flagged too), or above ``exploding``
    times the reference gradient norm; ``'vanishing'`` when it is exactly 0 or below
    ``vanishing`` times the reference. The reference is the gradient norm of parameter
    ``reference`` (a name), by default of the last weight (ndim >= 2) in named_parameters()
    order: the output layer of a feed-forward net, where the gradient enters. A reference that
    is itself exploding is not used for relative flags.

        >>> import chainrule as cr
        >>> model = cr.nn.Linear(3, 1)
        >>> model(cr.ones(2, 3)).sum().backward()
        >>> [f.name for f in gradient_flow(model)]
        ['weight', 'bias']
    """
    _require_host("gradient_flow", model)
    if lr is not None and (isinstance(lr, bool) or not np.isscalar(lr) or not lr > 0):
        raise ValueError(f"gradient_flow: lr must be a positive number or None; got {lr!r}")
    if lr is not None and optimizer is not None:
        raise ValueError("gradient_flow: give lr (plain SGD's ratio) or optimizer (its real "
                         "step), not both")
    if not 0 < vanishing < 1 < exploding:
        raise ValueError(f"gradient_flow: need 0 < vanishing < 1 < exploding; got "
                         f"vanishing={vanishing}, exploding={exploding}")
    named = _named_parameters(model)
    steps = _real_steps(model, optimizer) if optimizer is not None else {}
    entries = []
    for name, p in named:
        if p.grad is None:
            continue
        g, w = _norm(p.grad.numpy()), _norm(p.numpy())
        if optimizer is not None:
            ratio = steps[name] / w if w > 0 else (0.0 if steps[name] == 0 else float("inf"))
        else:
            ratio = g / w if w > 0 else (0.0 if g == 0 else float("inf"))
            ratio *= lr if lr is not None else 1.0
        entries.append((name, tuple(p.shape), g, w, ratio))
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
    relative = bool(np.isfinite(ref) and 0 < ref <= max_norm)
    flows = []
    for name, shape, g, w, ratio in entries:
        if not np.isfinite(g) or g > max_norm or (relative and g > exploding * ref):
            flag = "exploding"
        elif g == 0 or (relative and g < vanishing * ref):
            flag = "vanishing"
        else:
            flag = "ok"
        flows.append(LayerFlow(name, shape, g, w, ratio, flag))
    return flows


def _real_steps(model, optimizer):
    """{name: ||dw||} of one step of `optimizer`, taken on copies holding the same gradients."""
    import chainrule as cr
    from chainrule.inspect.evidence import training_copy, update_norms

    if isinstance(model, dict):
        raise TypeError("gradient_flow: optimizer= needs the Module, not a dict of parameters")
    model_copy, opt_copy = training_copy(model, optimizer)
    for (_, p), (_, q) in zip(model.named_parameters(), model_copy.named_parameters()):
        q.grad = None if p.grad is None else cr.tensor(p.grad.numpy().copy())
    return update_norms(model_copy, opt_copy)


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
