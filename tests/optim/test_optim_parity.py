"""Update rules: 20 steps of each optimizer and option, against the documented formulas and PyTorch.

The same small tanh MLP least-squares problem is minimized three ways from identical weights:
chainrule's optimizer, a plain NumPy transcription of the algorithm in PyTorch's docs (always),
and torch.optim itself (when PyTorch is installed). All in float64, within 1e-6 (in practice
~1e-15).
"""

import numpy as np
import pytest

import chainrule as cr

STEPS = 20

DEFAULTS = {
    "SGD": dict(lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False,
                maximize=False),
    "Adagrad": dict(lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
                    eps=1e-10, maximize=False),
    "RMSprop": dict(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                    centered=False, maximize=False),
    "Adam": dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
                 maximize=False),
    "AdamW": dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False,
                  maximize=False),
}

CASES = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.5}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"lr": 0.1, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.01, "momentum": 0.8, "weight_decay": 0.1, "maximize": True}),
    ("SGD", {}),
    ("Adagrad", {"lr": 0.1}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.05}),
    ("Adagrad", {"lr": 0.1, "weight_decay": 0.1}),
    ("Adagrad", {"lr": 0.1, "initial_accumulator_value": 0.5, "eps": 1e-3}),
    ("Adagrad", {"lr": 0.05, "maximize": True, "weight_decay": 0.05}),
    ("RMSprop", {}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9}),
    ("RMSprop", {"lr": 0.01, "centered": True}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.5, "centered": True, "weight_decay": 0.1,
                 "eps": 1e-4}),
    ("RMSprop", {"lr": 0.01, "maximize": True}),
    ("Adam", {}),
    ("Adam", {"lr": 0.05, "betas": (0.8, 0.99)}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.05, "amsgrad": True}),
    ("Adam", {"lr": 0.05, "eps": 1e-2}),
    ("Adam", {"lr": 0.05, "amsgrad": True, "weight_decay": 0.1, "maximize": True}),
    ("AdamW", {}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.1}),
    ("AdamW", {"lr": 0.05, "amsgrad": True}),
    ("AdamW", {"lr": 0.05, "betas": (0.5, 0.9), "maximize": True}),
]
IDS = [f"{n}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'defaults'}" for n, kw in CASES]


def problem():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((8, 5)), rng.standard_normal((8, 3))
    init = [rng.standard_normal((4, 5)) * 0.5, rng.standard_normal(4) * 0.1,
            rng.standard_normal((3, 4)) * 0.5, rng.standard_normal(3) * 0.1]
    return x, y, init


def cr_loss(params, x, y):
    W1, b1, W2, b2 = params
    h = (cr.tensor(x) @ W1.mT + b1).tanh()
    return (((h @ W2.mT + b2) - cr.tensor(y)) ** 2).mean()


def cr_grads(arrays, x, y):
    params = [cr.tensor(a, requires_grad=True) for a in arrays]
    cr_loss(params, x, y).backward()
    return [p.grad.numpy().copy() for p in params]


def run_chainrule(name, kwargs, groups=None):
    x, y, init = problem()
    params = [cr.tensor(a.copy(), requires_grad=True) for a in init]
    spec = params if groups is None else [dict(g, params=[params[i] for i in g["params"]])
                                          for g in groups]
    opt = getattr(cr.optim, name)(spec, **kwargs)
    for _ in range(STEPS):
        opt.zero_grad()
        cr_loss(params, x, y).backward()
        opt.step()
    return [p.numpy() for p in params], opt


def run_torch(torch, name, kwargs, groups=None):
    x, y, init = problem()
    params = [torch.tensor(a.copy(), requires_grad=True) for a in init]
    spec = params if groups is None else [dict(g, params=[params[i] for i in g["params"]])
                                          for g in groups]
    opt = getattr(torch.optim, name)(spec, **kwargs)
    xt, yt = torch.tensor(x), torch.tensor(y)
    for _ in range(STEPS):
        opt.zero_grad()
        W1, b1, W2, b2 = params
        h = torch.tanh(xt @ W1.mT + b1)
        (((h @ W2.mT + b2) - yt) ** 2).mean().backward()
        opt.step()
    return [p.detach().numpy() for p in params]


# ---- the algorithms exactly as written in PyTorch's documentation ---------------------------
def ref_sgd(th, g, s, t, lr, momentum, dampening, weight_decay, nesterov, maximize):
    g = -g if maximize else g
    if weight_decay:
        g = g + weight_decay * th
    if momentum:
        s["b"] = g if t == 1 else momentum * s["b"] + (1 - dampening) * g
        g = g + momentum * s["b"] if nesterov else s["b"]
    th -= lr * g


def ref_adagrad(th, g, s, t, lr, lr_decay, weight_decay, initial_accumulator_value, eps,
                maximize):
    g = -g if maximize else g
    clr = lr / (1 + (t - 1) * lr_decay)
    if weight_decay:
        g = g + weight_decay * th
    s["sum"] = s.get("sum", initial_accumulator_value) + g * g
    th -= clr * g / (np.sqrt(s["sum"]) + eps)


def ref_rmsprop(th, g, s, t, lr, alpha, eps, weight_decay, momentum, centered, maximize):
    g = -g if maximize else g
    if weight_decay:
        g = g + weight_decay * th
    s["v"] = alpha * s.get("v", 0.0) + (1 - alpha) * g * g
    v = s["v"]
    if centered:
        s["gave"] = s.get("gave", 0.0) * alpha + (1 - alpha) * g
        v = v - s["gave"] ** 2
    if momentum > 0:
        s["b"] = momentum * s.get("b", 0.0) + g / (np.sqrt(v) + eps)
        th -= lr * s["b"]
    else:
        th -= lr * g / (np.sqrt(v) + eps)


def ref_adam(th, g, s, t, lr, betas, eps, weight_decay, amsgrad, maximize, decoupled=False):
    b1, b2 = betas
    g = -g if maximize else g
    if weight_decay and decoupled:
        th *= 1 - lr * weight_decay
    elif weight_decay:
        g = g + weight_decay * th
    s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
    s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g * g
    m_hat = s["m"] / (1 - b1 ** t)
    if amsgrad:
        s["vmax"] = np.maximum(s.get("vmax", 0.0), s["v"])
        v_hat = s["vmax"] / (1 - b2 ** t)
    else:
        v_hat = s["v"] / (1 - b2 ** t)
    th -= lr * m_hat / (np.sqrt(v_hat) + eps)


REFERENCE = {"SGD": ref_sgd, "Adagrad": ref_adagrad, "RMSprop": ref_rmsprop, "Adam": ref_adam,
             "AdamW": lambda *a, **k: ref_adam(*a, decoupled=True, **k)}


def run_reference(name, kwargs, groups=None):
    x, y, init = problem()
    theta = [a.copy() for a in init]
    states = [{} for _ in theta]
    hyper = [dict(DEFAULTS[name], **kwargs) for _ in theta]
    for g in groups or ():
        for i in g["params"]:
            hyper[i].update({k: v for k, v in g.items() if k != "params"})
    for t in range(1, STEPS + 1):
        for th, g, s, h in zip(theta, cr_grads(theta, x, y), states, hyper):
            REFERENCE[name](th, g, s, t, **h)
    return theta


def assert_close(got, want, tol=1e-6):
    for i, (a, b) in enumerate(zip(got, want)):
        err = np.max(np.abs(a - b))
        assert err <= tol, f"parameter {i}: max |difference| {err:.3g} > {tol}"


@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=IDS)
def test_matches_documented_formula(name, kwargs):
    got, _ = run_chainrule(name, kwargs)
    want = run_reference(name, kwargs)
    assert_close(got, want, 1e-10)
    moved = max(np.max(np.abs(a - b)) for a, b in zip(got, problem()[2]))
    assert moved > 1e-3  # the parameters really moved


@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=IDS)
def test_matches_torch(name, kwargs):
    torch = pytest.importorskip("torch")
    got, _ = run_chainrule(name, kwargs)
    assert_close(got, run_torch(torch, name, kwargs))


GROUPS = [{"params": [0, 1], "lr": 0.02}, {"params": [2, 3], "weight_decay": 0.3}]


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop"])
def test_param_groups_use_their_own_hyperparameters(name):
    kwargs = {"lr": 0.05, "momentum": 0.9} if name != "Adam" else {"lr": 0.05}
    got, opt = run_chainrule(name, kwargs, GROUPS)
    assert opt.param_groups[0]["lr"] == 0.02 and opt.param_groups[1]["lr"] == 0.05
    assert_close(got, run_reference(name, kwargs, GROUPS), 1e-10)
    try:
        import torch
    except ImportError:
        return
    assert_close(got, run_torch(torch, name, kwargs, GROUPS))
