"""Write tests/golden/generative.npz: PyTorch's values and gradients for the generative-model
pieces: gaussian_nll_loss and poisson_nll_loss (LOSS_CASES), spectral normalisation in both
forms (SN_CASES: the parametrization and the older hook, given the same weights and u, v), and
the WGAN-GP gradient penalty with its gradient w.r.t. the critic's parameters (double backward).
Run with torch 2.13 installed, from the repository root:

    PYTHONPATH=src python tools/golden/generative.py
"""

import pathlib
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

# (function, input shape, var shape or float or None, kwargs)
LOSS_CASES = [
    ("gaussian", (4, 3), (4, 3), dict()),
    ("gaussian", (4, 3), (4,), dict(full=True)),
    ("gaussian", (4, 3), (4, 1), dict(reduction="sum")),
    ("gaussian", (2, 3, 4), (2, 1, 4), dict(reduction="none", eps=0.05)),
    ("gaussian", (5,), 0.7, dict()),
    ("poisson", (4, 3), None, dict()),
    ("poisson", (4, 3), None, dict(full=True, reduction="sum")),
    ("poisson", (6,), None, dict(log_input=False, reduction="none")),
    ("poisson", (3, 4), None, dict(log_input=False, full=True, eps=1e-3)),
]

# (layer, constructor args, form, dim or None, n_power_iterations)
SN_CASES = [
    ("Linear", (5, 4), "param", None, 1),
    ("Linear", (6, 3), "param", None, 3),
    ("Conv2d", (3, 4, 3), "param", None, 1),
    ("ConvTranspose2d", (3, 2, 3), "param", None, 2),
    ("Linear", (5, 4), "legacy", None, 1),
    ("Conv2d", (2, 3, 3), "legacy", None, 2),
    ("ConvTranspose2d", (3, 2, 3), "legacy", None, 1),
]


def loss_inputs(i):
    """(input, target, var) of LOSS_CASES[i] (var: an ndarray, a float, or None)."""
    kind, shape, vshape, kw = LOSS_CASES[i]
    rng = np.random.default_rng(200 + i)
    if kind == "gaussian":
        x, y = rng.standard_normal(shape), rng.standard_normal(shape)
        var = vshape if isinstance(vshape, float) else rng.uniform(0.01, 2.0, vshape)
        if isinstance(var, np.ndarray):
            var.flat[0] = 1e-8  # below eps: the clamp's value and its pass-through gradient
        return x, y, var
    y = rng.poisson(2.0, shape).astype(np.float64)
    x = rng.standard_normal(shape) if kw.get("log_input", True) else rng.uniform(0.1, 3.0, shape)
    return x, y, None


def sn_shapes(i):
    """(weight shape, input shape, the matrix's (h, w)) of SN_CASES[i]."""
    layer, args, _, dim, _ = SN_CASES[i]
    if layer == "Linear":
        return (args[1], args[0]), (3, args[0]), (args[1], args[0])
    if layer == "Conv2d":
        w = (args[1], args[0], args[2], args[2])
        return w, (2, args[0], 6, 6), (w[0], w[1] * w[2] * w[3])
    w = (args[0], args[1], args[2], args[2])  # ConvTranspose: (in, out, k, k), dim 1
    return w, (2, args[0], 5, 5), (w[1], w[0] * w[2] * w[3])


def sn_inputs(i):
    """(weight, bias, x, u, v, cotangent seed) of SN_CASES[i], u and v unit vectors."""
    wshape, xshape, (h, w) = sn_shapes(i)
    rng = np.random.default_rng(300 + i)
    weight = rng.standard_normal(wshape)
    bias = rng.standard_normal(wshape[1] if SN_CASES[i][0] == "ConvTranspose2d" else wshape[0])
    x = rng.standard_normal(xshape)
    u, v = rng.standard_normal(h), rng.standard_normal(w)
    return weight, bias, x, u / np.linalg.norm(u), v / np.linalg.norm(v)


def gp_inputs():
    """Critic weights (Linear 2->8, tanh, Linear 8->1), real, fake and alpha."""
    rng = np.random.default_rng(400)
    return dict(w1=rng.standard_normal((8, 2)), b1=rng.standard_normal(8),
                w2=rng.standard_normal((1, 8)), b2=rng.standard_normal(1),
                real=rng.standard_normal((6, 2)), fake=rng.standard_normal((6, 2)) + 2.0,
                alpha=rng.uniform(size=6))


def weights(y):
    return np.random.default_rng(1).standard_normal(tuple(y.shape))


def torch_sn(i):
    """The torch module of SN_CASES[i] with the case's weight, bias, u and v set."""
    import torch

    layer, args, form, dim, n = SN_CASES[i]
    weight, bias, _, u, v = sn_inputs(i)
    m = getattr(torch.nn, layer)(*args).double()
    with torch.no_grad():
        m.weight.copy_(torch.tensor(weight))
        m.bias.copy_(torch.tensor(bias))
    if form == "param":
        torch.nn.utils.parametrizations.spectral_norm(m, n_power_iterations=n, dim=dim)
        sn = m.parametrizations.weight[0]
        with torch.no_grad():
            sn._u.copy_(torch.tensor(u))
            sn._v.copy_(torch.tensor(v))
    else:
        torch.nn.utils.spectral_norm(m, n_power_iterations=n, dim=dim)
        with torch.no_grad():
            m.weight_u.copy_(torch.tensor(u))
            m.weight_v.copy_(torch.tensor(v))
    return m


def torch_loss(i):
    """{y, gx[, gvar]}: torch's loss of LOSS_CASES[i] and its gradients (cotangent weights)."""
    import torch
    import torch.nn.functional as F

    kind, _, _, kw = LOSS_CASES[i]
    x, y, var = loss_inputs(i)
    tx = torch.tensor(x, requires_grad=True)
    if kind == "gaussian":
        tv = var if isinstance(var, float) else torch.tensor(var, requires_grad=True)
        out = F.gaussian_nll_loss(tx, torch.tensor(y), tv, **kw)
    else:
        out = F.poisson_nll_loss(tx, torch.tensor(y), **kw)
    (out * torch.tensor(weights(out))).sum().backward()
    res = dict(y=out.detach().numpy(), gx=tx.grad.numpy())
    if kind == "gaussian" and not isinstance(var, float):
        res["gvar"] = tv.grad.numpy()
    return res


def torch_sn_run(i):
    """{y, gx, gw, u, v, eval, weight}: a training forward (power steps, then W / sigma), its
    gradients, the updated u, v, then an eval forward and the eval weight."""
    import torch

    form = SN_CASES[i][2]
    m = torch_sn(i)
    x = torch.tensor(sn_inputs(i)[2], requires_grad=True)
    out = m(x)
    (out * torch.tensor(weights(out))).sum().backward()
    orig = m.parametrizations.weight.original if form == "param" else m.weight_orig
    u, v = (m.parametrizations.weight[0]._u, m.parametrizations.weight[0]._v) \
        if form == "param" else (m.weight_u, m.weight_v)
    res = dict(y=out.detach().numpy(), gx=x.grad.numpy(), gw=orig.grad.numpy(),
               u=u.detach().numpy().copy(), v=v.detach().numpy().copy())
    m.eval()
    res["eval"] = m(x).detach().numpy()  # eval: u, v reused, not updated
    res["weight"] = m.weight.detach().numpy()
    return res


def torch_gp():
    """{gp, g<name>}: the penalty mean (||grad_x D(x_hat)|| - 1)^2 and its parameter gradients."""
    import torch

    g = gp_inputs()
    critic = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(),
                                 torch.nn.Linear(8, 1)).double()
    with torch.no_grad():
        for name, p in zip(("w1", "b1", "w2", "b2"), critic.parameters()):
            p.copy_(torch.tensor(g[name]))
    alpha = torch.tensor(g["alpha"])[:, None]
    xh = (alpha * torch.tensor(g["real"]) + (1 - alpha) * torch.tensor(g["fake"]))
    xh.requires_grad_(True)
    (gx,) = torch.autograd.grad(critic(xh).sum(), xh, create_graph=True)
    gp = ((gx.norm(2, dim=1) - 1) ** 2).mean()
    gp.backward()
    res = dict(gp=gp.detach().numpy())
    for name, p in zip(("w1", "b1", "w2", "b2"), critic.parameters()):
        if p.grad is not None:  # (the last bias does not move grad_x D: no gradient)
            res[f"g{name}"] = p.grad.numpy()
    return res


def main():
    import torch
    from tests.golden import save

    arrays = {"torch_version": np.array(torch.__version__)}
    for i in range(len(LOSS_CASES)):
        arrays.update({f"loss{i}_{k}": a for k, a in torch_loss(i).items()})
    for i in range(len(SN_CASES)):
        arrays.update({f"sn{i}_{k}": a for k, a in torch_sn_run(i).items()})
    arrays.update({("gp" if k == "gp" else f"gp_{k}"): a for k, a in torch_gp().items()})
    save("generative", arrays)
    print(f"wrote tests/golden/generative.npz: {len(LOSS_CASES)} loss cases, {len(SN_CASES)} "
          "spectral-norm cases, the gradient penalty")


if __name__ == "__main__":
    main()
