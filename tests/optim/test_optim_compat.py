"""The optimizers added for torch compatibility (Adamax, NAdam, RAdam, Adadelta, LBFGS):
20 steps on the small tanh-MLP least-squares problem of test_optim_parity, in float64,
against torch.optim (live when installed; always against tests/golden/compat.npz, written by
tools/golden/compat.py), and LBFGS's closure contract."""

import numpy as np
import pytest

import chainrule as cr
from tests import golden
from tests.optim.test_optim_parity import problem

STEPS = 20
CASES = [
    ("Adamax", {}),
    ("Adamax", {"lr": 0.05, "weight_decay": 0.1, "maximize": True}),
    ("NAdam", {}),
    ("NAdam", {"lr": 0.05, "momentum_decay": 0.01, "weight_decay": 0.1}),
    ("NAdam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("RAdam", {}),
    ("RAdam", {"lr": 0.05, "betas": (0.8, 0.9), "weight_decay": 0.1}),
    ("RAdam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("Adadelta", {}),
    ("Adadelta", {"lr": 0.5, "rho": 0.8, "eps": 1e-4, "weight_decay": 0.1}),
    ("LBFGS", {}),
    ("LBFGS", {"lr": 0.5, "history_size": 3, "max_iter": 4}),
    ("LBFGS", {"line_search_fn": "strong_wolfe"}),
    ("LBFGS", {"line_search_fn": "strong_wolfe", "history_size": 2, "max_iter": 4,
               "tolerance_change": 1e-12}),
]
IDS = [f"{n}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'defaults'}" for n, kw in CASES]


def trajectory(lib, name, kwargs, steps=STEPS):
    """Parameters after each step (flattened), in float64."""
    x, y, init = problem()
    params = [lib.tensor(a.copy(), requires_grad=True) for a in init]
    X, Y = lib.tensor(x), lib.tensor(y)
    opt = getattr(lib.optim, name)(params, **kwargs)

    def closure():
        opt.zero_grad()
        W1, b1, W2, b2 = params
        h = (X @ W1.mT + b1).tanh()
        loss = (((h @ W2.mT + b2) - Y) ** 2).mean()
        loss.backward()
        return loss

    out = []
    for _ in range(steps):
        if name == "LBFGS":
            opt.step(closure)
        else:
            closure()
            opt.step()
        out.append(np.concatenate([p.detach().numpy().reshape(-1) for p in params]))
    return np.stack(out)


def golden_arrays(torch):
    """{key: ndarray} for tools/golden/compat.py."""
    return {f"optim:{i}": trajectory(torch, n, kw) for i, (n, kw) in enumerate(CASES)}


@pytest.mark.parametrize("i", range(len(CASES)), ids=IDS)
def test_matches_torch_golden(i):
    name, kwargs = CASES[i]
    want = golden.load("compat")[f"optim:{i}"]
    np.testing.assert_allclose(trajectory(cr, name, kwargs), want, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("i", range(len(CASES)), ids=IDS)
def test_matches_torch_live(i):
    torch = pytest.importorskip("torch")
    name, kwargs = CASES[i]
    np.testing.assert_allclose(trajectory(cr, name, kwargs), trajectory(torch, name, kwargs),
                               rtol=1e-6, atol=1e-9)


def test_lbfgs_finds_a_quadratic_minimum_and_needs_a_closure():
    w = cr.tensor([4.0, -3.0, 1.0], dtype=cr.float64, requires_grad=True)
    A = cr.tensor([[3.0, 1.0, 0.0], [1.0, 2.0, 0.5], [0.0, 0.5, 1.0]], dtype=cr.float64)
    b = cr.tensor([1.0, -1.0, 2.0], dtype=cr.float64)
    opt = cr.optim.LBFGS([w], line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = 0.5 * (w @ (A @ w)) - b @ w
        loss.backward()
        return loss

    opt.step(closure)
    # (it stops once the loss changes by < tolerance_change = 1e-9: w within ~1e-4)
    np.testing.assert_allclose(w.detach().numpy(), np.linalg.solve(A.numpy(), b.numpy()),
                               atol=1e-4)
    with pytest.raises(TypeError, match="LBFGS.step: needs a closure"):
        opt.step()
    with pytest.raises(ValueError, match="LBFGS: only 'strong_wolfe'"):
        cr.optim.LBFGS([w], line_search_fn="backtracking")
    with pytest.raises(ValueError, match="LBFGS: doesn't support per-parameter options"):
        cr.optim.LBFGS([{"params": [w]}, {"params": [cr.zeros(1, requires_grad=True)]}])


@pytest.mark.parametrize("name", ["Adamax", "NAdam", "RAdam", "Adadelta"])
def test_defaults_match_torch(name):
    torch = pytest.importorskip("torch")
    ours = getattr(cr.optim, name)([cr.zeros(1, requires_grad=True)]).defaults
    theirs = getattr(torch.optim, name)([torch.zeros(1, requires_grad=True)]).defaults
    for k, v in ours.items():
        assert theirs[k] == v, f"{name}.{k}: {v} vs torch {theirs[k]}"


@pytest.mark.parametrize("name", ["Adamax", "NAdam", "RAdam", "Adadelta"])
def test_state_dict_round_trip_continues_identically(name):
    a = trajectory(cr, name, {"lr": 0.05}, steps=6)
    x, y, init = problem()
    params = [cr.tensor(v.copy(), requires_grad=True) for v in init]
    opt = getattr(cr.optim, name)(params, lr=0.05)

    def loss():
        W1, b1, W2, b2 = params
        return ((((cr.tensor(x) @ W1.mT + b1).tanh() @ W2.mT + b2) - cr.tensor(y)) ** 2).mean()

    for step in range(6):
        if step == 3:  # resume from a copy of the state
            saved = opt.state_dict()
            opt = getattr(cr.optim, name)(params, lr=0.05)
            opt.load_state_dict(saved)
        opt.zero_grad()
        loss().backward()
        opt.step()
    np.testing.assert_allclose(np.concatenate([p.detach().numpy().reshape(-1) for p in params]),
                               a[-1], rtol=1e-12)
