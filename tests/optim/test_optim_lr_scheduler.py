"""Learning-rate schedules: sequences against their formulas, and against PyTorch if present."""

import math
import pickle

import numpy as np
import pytest

import chainrule as cr
from chainrule.optim import SGD, Adam, lr_scheduler

EPOCHS = 25

# (name, kwargs, closed form of lr_t for base lr b, valid for every t in 0..EPOCHS-1)
SCHEDULES = [
    ("StepLR", {"step_size": 3}, lambda b, t: b * 0.1 ** (t // 3)),
    ("StepLR", {"step_size": 4, "gamma": 0.5}, lambda b, t: b * 0.5 ** (t // 4)),
    ("MultiStepLR", {"milestones": [2, 5, 5, 11]},
     lambda b, t: b * 0.1 ** sum(t >= m for m in [2, 5, 5, 11])),
    ("ExponentialLR", {"gamma": 0.9}, lambda b, t: b * 0.9 ** t),
    ("CosineAnnealingLR", {"T_max": EPOCHS - 1},
     lambda b, t: (b * (1 + math.cos(math.pi * t / (EPOCHS - 1))) / 2)),
    ("CosineAnnealingLR", {"T_max": 10, "eta_min": 0.01},
     lambda b, t: 0.01 + (b - 0.01) * (1 + math.cos(math.pi * t / 10)) / 2),  # rises past T_max
    ("LinearLR", {}, lambda b, t: b * (1 / 3 + (2 / 3) * min(t, 5) / 5)),
    ("LinearLR", {"start_factor": 0.1, "end_factor": 1.0, "total_iters": 8},
     lambda b, t: b * (0.1 + 0.9 * min(t, 8) / 8)),
    ("LinearLR", {"start_factor": 1.0, "end_factor": 0.2, "total_iters": 10},
     lambda b, t: b * (1.0 - 0.8 * min(t, 10) / 10)),
]
IDS = [f"{n}-{kw}" for n, kw, _ in SCHEDULES]
BASE_LRS = (0.1, 0.03)  # two param groups


def lr_sequence(module, name, kwargs, optim):
    params = [module.zeros(2, requires_grad=True), module.zeros(3, requires_grad=True)]
    opt = optim.SGD([{"params": params[:1]}, {"params": params[1:], "lr": BASE_LRS[1]}],
                    lr=BASE_LRS[0])
    sched = getattr(optim.lr_scheduler, name)(opt, **kwargs)
    seq = []
    for _ in range(EPOCHS):
        seq.append([float(g["lr"]) for g in opt.param_groups])
        assert [float(v) for v in sched.get_last_lr()] == seq[-1]
        opt.step()
        sched.step()
    return np.array(seq)


@pytest.mark.parametrize(("name", "kwargs", "formula"), SCHEDULES, ids=IDS)
def test_schedule_matches_formula(name, kwargs, formula):
    got = lr_sequence(cr, name, kwargs, cr.optim)
    want = np.array([[formula(b, t) for b in BASE_LRS] for t in range(EPOCHS)])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(("name", "kwargs", "formula"), SCHEDULES, ids=IDS)
def test_schedule_matches_torch(name, kwargs, formula):
    torch = pytest.importorskip("torch")
    got = lr_sequence(cr, name, kwargs, cr.optim)
    np.testing.assert_allclose(got, lr_sequence(torch, name, kwargs, torch.optim), rtol=1e-12)


LOSSES = [1.0, 0.9, 0.95, 0.95, 0.95, 0.8, 0.85, 0.85, 0.85, 0.85, 0.79999, 0.5, 0.6, 0.6,
          0.6, 0.6, 0.6, 0.6, 0.6, 0.6]
PLATEAU = [
    ({"patience": 2, "factor": 0.5},
     # 3 bad epochs after 0.9 -> halve at epoch 5; 0.8 is better; halve at 9; 0.79999 is not
     # better than 0.8 by the relative threshold 1e-4 -> bad; 0.5 is better; halve at 15, 18
     [0.1] * 4 + [0.05] * 4 + [0.025] * 6 + [0.0125] * 3 + [0.00625] * 3),
    ({"patience": 1, "factor": 0.5, "cooldown": 2, "min_lr": 0.02},
     None),
    ({"patience": 0, "factor": 0.1, "threshold": 0.2, "threshold_mode": "abs"}, None),
    ({"mode": "max", "patience": 3}, None),
]


def plateau_sequence(optim, module, kwargs):
    w = module.zeros(2, requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    sched = optim.lr_scheduler.ReduceLROnPlateau(opt, **kwargs)
    seq = []
    for loss in LOSSES:
        opt.step()
        sched.step(loss)
        seq.append(float(opt.param_groups[0]["lr"]))
        assert [float(v) for v in sched.get_last_lr()] == [seq[-1]]
    return seq


def test_reduce_lr_on_plateau_by_hand():
    np.testing.assert_allclose(plateau_sequence(cr.optim, cr, PLATEAU[0][0]), PLATEAU[0][1])
    # cooldown 2, patience 1, floor 0.02: reductions at epochs 3, 8 (cooldown resets counts),
    # then the floor holds
    seq = plateau_sequence(cr.optim, cr, PLATEAU[1][0])
    assert seq[:3] == [0.1] * 3 and seq[3] == 0.05 and min(seq) == 0.02


@pytest.mark.parametrize("kwargs", [k for k, _ in PLATEAU], ids=str)
def test_reduce_lr_on_plateau_matches_torch(kwargs):
    torch = pytest.importorskip("torch")
    np.testing.assert_allclose(plateau_sequence(cr.optim, cr, kwargs),
                               plateau_sequence(torch.optim, torch, kwargs), rtol=1e-12)


def test_scheduler_state_dict_round_trip():
    w = cr.zeros(2, requires_grad=True)
    opt = Adam([w], lr=1.0)
    sched = lr_scheduler.CosineAnnealingLR(opt, T_max=10)
    for _ in range(4):
        sched.step()
    state = pickle.loads(pickle.dumps(sched.state_dict()))
    assert "optimizer" not in state and state["last_epoch"] == 4
    opt2 = Adam([cr.zeros(2, requires_grad=True)], lr=1.0)
    opt2.load_state_dict(opt.state_dict())
    sched2 = lr_scheduler.CosineAnnealingLR(opt2, T_max=10)
    sched2.load_state_dict(state)
    for _ in range(3):
        sched.step()
        sched2.step()
    assert sched.get_last_lr() == sched2.get_last_lr()
    assert sched.get_last_lr()[0] == pytest.approx((1 + math.cos(math.pi * 7 / 10)) / 2)


def test_step_with_epoch_uses_the_closed_form():
    opt = SGD([cr.zeros(1, requires_grad=True)], lr=1.0)
    sched = lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    with pytest.warns(UserWarning, match="deprecated"):
        sched.step(7)
    assert sched.get_last_lr() == [0.125]


def test_scheduler_errors():
    opt = SGD([cr.zeros(1, requires_grad=True)], lr=1.0)
    with pytest.raises(TypeError, match="expected a chainrule.optim Optimizer; got list"):
        lr_scheduler.StepLR([], step_size=1)
    with pytest.raises(ValueError, match="step_size must be a positive integer; got 0"):
        lr_scheduler.StepLR(opt, step_size=0)
    with pytest.raises(ValueError, match="T_max must be a positive integer"):
        lr_scheduler.CosineAnnealingLR(opt, T_max=0)
    with pytest.raises(ValueError, match="start_factor must be in"):
        lr_scheduler.LinearLR(opt, start_factor=0)
    with pytest.raises(ValueError, match="factor should be < 1.0; got 2"):
        lr_scheduler.ReduceLROnPlateau(opt, factor=2)
    with pytest.raises(ValueError, match="mode must be 'min' or 'max'; got 'up'"):
        lr_scheduler.ReduceLROnPlateau(opt, mode="up")
    with pytest.raises(ValueError, match="expected 1 min_lrs"):
        lr_scheduler.ReduceLROnPlateau(opt, min_lr=[0.1, 0.2])
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.ExponentialLR(SGD([cr.zeros(1, requires_grad=True)]), 0.5, last_epoch=3)
