"""PyTorch parity of the generative-model pieces without torch: gaussian_nll_loss,
poisson_nll_loss, spectral_norm (the parametrization and the older hook, given torch's weights
and u, v) and the WGAN-GP gradient penalty (double backward), against
tests/golden/generative.npz (tools/golden/generative.py, torch 2.13), and live when torch is
installed."""

import numpy as np
import pytest
from tools.golden.generative import (
    LOSS_CASES,
    SN_CASES,
    gp_inputs,
    loss_inputs,
    sn_inputs,
    weights,
)

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from chainrule.nn.utils import parametrizations
from tests import golden

GOLDEN = golden.load("generative")
TOL = dict(rtol=1e-10, atol=1e-12)


def ours_loss(i):
    kind, _, _, kw = LOSS_CASES[i]
    x, y, var = loss_inputs(i)
    tx = cr.tensor(x, requires_grad=True)
    if kind == "gaussian":
        tv = var if isinstance(var, float) else cr.tensor(var, requires_grad=True)
        out = F.gaussian_nll_loss(tx, y, tv, **kw)
    else:
        out = F.poisson_nll_loss(tx, y, **kw)
    (out * cr.tensor(weights(out))).sum().backward()
    res = dict(y=out.numpy(), gx=tx.grad.numpy())
    if kind == "gaussian" and not isinstance(var, float):
        res["gvar"] = tv.grad.numpy()
    return res


def ours_sn_module(i):
    layer, args, form, dim, n = SN_CASES[i]
    weight, bias, _, u, v = sn_inputs(i)
    m = getattr(nn, layer)(*args).double()
    m.weight.data = weight.copy()
    m.bias.data = bias.copy()
    if form == "param":
        parametrizations.spectral_norm(m, n_power_iterations=n, dim=dim)
        sn = m.parametrizations.weight[0]
        sn._u.data, sn._v.data = u.copy(), v.copy()
    else:
        nn.utils.spectral_norm(m, n_power_iterations=n, dim=dim)
        m.weight_u.data, m.weight_v.data = u.copy(), v.copy()
    return m


def ours_sn_run(i):
    form = SN_CASES[i][2]
    m = ours_sn_module(i)
    x = cr.tensor(sn_inputs(i)[2], requires_grad=True)
    out = m(x)
    (out * cr.tensor(weights(out))).sum().backward()
    orig = m.parametrizations.weight.original if form == "param" else m.weight_orig
    u, v = (m.parametrizations.weight[0]._u, m.parametrizations.weight[0]._v) \
        if form == "param" else (m.weight_u, m.weight_v)
    res = dict(y=out.numpy(), gx=x.grad.numpy(), gw=orig.grad.numpy(), u=u.numpy().copy(),
               v=v.numpy().copy())
    m.eval()
    res["eval"] = m(x).numpy()
    res["weight"] = m.weight.numpy()
    return res


def ours_gp():
    g = gp_inputs()
    critic = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1)).double()
    for name, p in zip(("w1", "b1", "w2", "b2"), critic.parameters()):
        p.data = g[name].copy()
    gp = nn.gradient_penalty(critic, g["real"], g["fake"], alpha=g["alpha"])
    gp.backward()
    res = dict(gp=gp.numpy())
    for name, p in zip(("w1", "b1", "w2", "b2"), critic.parameters()):
        if p.grad is not None and np.any(p.grad.numpy() != 0):
            res[f"g{name}"] = p.grad.numpy()
    return res


def _same(ours, theirs):
    assert sorted(ours) == sorted(theirs)
    for k in theirs:
        np.testing.assert_allclose(ours[k], theirs[k], err_msg=k, **TOL)


def test_the_golden_file_is_torch_213s_and_covers_every_case():
    assert str(GOLDEN["torch_version"]).startswith("2.13")
    assert all(f"loss{i}_y" in GOLDEN for i in range(len(LOSS_CASES)))
    assert all(f"sn{i}_y" in GOLDEN for i in range(len(SN_CASES)))


@pytest.mark.parametrize("i", range(len(LOSS_CASES)))
def test_nll_losses_values_and_gradients_equal_pytorchs(i):
    _same(ours_loss(i), {k[len(f"loss{i}_"):]: v for k, v in GOLDEN.items()
                         if k.startswith(f"loss{i}_")})


@pytest.mark.parametrize("i", range(len(SN_CASES)), ids=lambda i: "-".join(
    map(str, (SN_CASES[i][0], SN_CASES[i][2], SN_CASES[i][4]))))
def test_spectral_norm_output_gradients_and_vectors_equal_pytorchs(i):
    _same(ours_sn_run(i), {k[len(f"sn{i}_"):]: v for k, v in GOLDEN.items()
                           if k.startswith(f"sn{i}_")})


def test_gradient_penalty_and_its_double_backward_equal_pytorchs():
    _same(ours_gp(), {("gp" if k == "gp" else k[3:]): v for k, v in GOLDEN.items()
                      if k.startswith("gp")})


# ---- live, where torch is installed -------------------------------------------------------

@pytest.mark.parametrize("i", range(len(LOSS_CASES)))
def test_live_torch_nll_losses(i):
    pytest.importorskip("torch")
    from tools.golden.generative import torch_loss

    _same(ours_loss(i), torch_loss(i))


@pytest.mark.parametrize("i", range(len(SN_CASES)))
def test_live_torch_spectral_norm(i):
    pytest.importorskip("torch")
    from tools.golden.generative import torch_sn_run

    _same(ours_sn_run(i), torch_sn_run(i))


def test_live_torch_gradient_penalty():
    pytest.importorskip("torch")
    from tools.golden.generative import torch_gp

    _same(ours_gp(), torch_gp())
