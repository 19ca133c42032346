"""Layers: a gradcheck table (input and every parameter, float64), closed-form behaviour
(initialisation, BatchNorm running statistics, dropout), and PyTorch parity."""

import math

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn

rng = np.random.default_rng(0)


def _dropout_train():
    m = nn.Dropout(0.3)

    def forward(x):  # the same mask on every call, so finite differences see one function
        cr.manual_seed(7)
        return m(x)

    return forward, m


# (id, factory -> module, input shape or int-index array)
LAYERS = [
    ("Linear", lambda: nn.Linear(3, 2), (4, 3)),
    ("Linear-nobias", lambda: nn.Linear(3, 2, bias=False), (4, 3)),
    ("Linear-1d", lambda: nn.Linear(3, 2), (3,)),
    ("Linear-3d", lambda: nn.Linear(3, 2), (2, 2, 3)),
    ("SineLayer-first", lambda: nn.SineLayer(3, 2, is_first=True), (4, 3)),
    ("SineLayer", lambda: nn.SineLayer(3, 2, w0=2.0), (4, 3)),
    ("Identity", lambda: nn.Identity(), (2, 3)),
    ("Flatten", lambda: nn.Flatten(), (2, 3, 2)),
    ("ReLU", lambda: nn.ReLU(), (3, 4)),
    ("LeakyReLU", lambda: nn.LeakyReLU(0.2), (3, 4)),
    ("ELU", lambda: nn.ELU(0.7), (3, 4)),
    ("GELU", lambda: nn.GELU(), (3, 4)),
    ("GELU-tanh", lambda: nn.GELU(approximate="tanh"), (3, 4)),
    ("SiLU", lambda: nn.SiLU(), (3, 4)),
    ("Sigmoid", lambda: nn.Sigmoid(), (3, 4)),
    ("Tanh", lambda: nn.Tanh(), (3, 4)),
    ("Softplus", lambda: nn.Softplus(), (3, 4)),
    ("Softplus-beta-threshold", lambda: nn.Softplus(beta=2.0, threshold=1.0), (3, 4)),
    ("Softmax", lambda: nn.Softmax(dim=1), (3, 4)),
    ("LogSoftmax", lambda: nn.LogSoftmax(dim=-1), (3, 4)),
    ("Sin", lambda: nn.Sin(), (3, 4)),
    ("Sin-w0", lambda: nn.Sin(w0=3.0), (3, 4)),
    ("Dropout-eval", lambda: nn.Dropout(0.3).eval(), (3, 4)),
    ("Dropout-train", _dropout_train, (3, 4)),
    ("BatchNorm1d-2d", lambda: nn.BatchNorm1d(3), (5, 3)),
    ("BatchNorm1d-3d", lambda: nn.BatchNorm1d(3), (2, 3, 4)),
    ("BatchNorm1d-no-affine", lambda: nn.BatchNorm1d(3, affine=False), (5, 3)),
    ("BatchNorm1d-no-tracking", lambda: nn.BatchNorm1d(3, track_running_stats=False), (5, 3)),
    ("BatchNorm1d-eval", lambda: _bn_with_stats().eval(), (5, 3)),
    ("LayerNorm", lambda: nn.LayerNorm(4), (3, 4)),
    ("LayerNorm-2d-shape", lambda: nn.LayerNorm((2, 3)), (2, 2, 3)),
    ("LayerNorm-no-affine", lambda: nn.LayerNorm(4, elementwise_affine=False), (3, 4)),
    ("LayerNorm-no-bias", lambda: nn.LayerNorm(4, bias=False), (3, 4)),
    ("Embedding", lambda: nn.Embedding(5, 3), np.array([[0, 4], [4, 2]])),
    # the padding row gets no gradient by design (not a derivative): it is left out here
    ("Embedding-padding", lambda: nn.Embedding(5, 3, padding_idx=1), np.array([4, 0, 0, 3])),
    ("Sequential-MLP", lambda: nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2),
                                             nn.LayerNorm(2)), (5, 3)),
]


def _bn_with_stats():
    m = nn.BatchNorm1d(3)
    m.running_mean.data = rng.normal(size=3)
    m.running_var.data = rng.uniform(0.5, 2, size=3)
    m.weight.data = rng.normal(size=3)
    return m


def _build(factory):
    built = factory()
    forward, module = built if isinstance(built, tuple) else (built, built)
    module.double()
    for p in module.parameters():  # move parameters off their special initial values (1, 0)
        with cr.no_grad():
            p.add_(cr.tensor(rng.normal(size=p.shape) * 0.3))
    return forward, module


@pytest.mark.parametrize("factory, shape", [row[1:] for row in LAYERS],
                         ids=[row[0] for row in LAYERS])
def test_gradcheck(factory, shape, float64):
    forward, module = _build(factory)
    params = list(module.parameters())
    if isinstance(shape, np.ndarray):  # integer indices: only the parameters are checked
        assert cr.gradcheck(lambda *ps: forward(shape), params)
        return
    x = cr.tensor(rng.normal(size=shape), requires_grad=True)
    assert cr.gradcheck(lambda x, *ps: forward(x), [x, *params])


@pytest.mark.parametrize("factory, shape", [row[1:] for row in LAYERS],
                         ids=[row[0] for row in LAYERS])
def test_gradgradcheck(factory, shape, float64):
    forward, module = _build(factory)
    if isinstance(shape, np.ndarray):
        assert cr.gradgradcheck(lambda w: forward(shape), [module.weight])
        return
    x = cr.tensor(rng.normal(size=shape), requires_grad=True)
    assert cr.gradgradcheck(lambda x: forward(x), [x])


# ---- Linear --------------------------------------------------------------------------------
def test_linear_shapes_dtype_and_pytorch_default_init():
    cr.manual_seed(0)
    m = nn.Linear(400, 300)
    assert m.weight.shape == (300, 400) and m.bias.shape == (300,)
    assert m.weight.dtype == np.float32 and m.bias.dtype == np.float32
    assert isinstance(m.weight, nn.Parameter) and m.weight.requires_grad
    bound = 1 / math.sqrt(400)  # kaiming_uniform(a=sqrt 5): gain sqrt(1/3) * sqrt(3/fan_in)
    w = m.weight.numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert w.std() == pytest.approx(bound / math.sqrt(3), rel=0.01)
    assert np.abs(m.bias.numpy()).max() <= bound
    cr.manual_seed(0)
    np.testing.assert_array_equal(nn.Linear(400, 300).weight.numpy(), w)  # reproducible


def test_linear_forward_is_x_WT_plus_b(float64):
    m = nn.Linear(3, 2)
    x = rng.normal(size=(4, 3))
    np.testing.assert_allclose(m(cr.tensor(x)).numpy(),
                               x @ m.weight.numpy().T + m.bias.numpy())
    with pytest.raises(ValueError, match=r"linear: .*in_features.*\(4, 5\)"):
        m(cr.zeros(4, 5))


def test_sine_layer_siren_init():
    first = nn.SineLayer(8, 16, is_first=True)
    hidden = nn.SineLayer(8, 16)
    assert first.w0 == 30.0 and np.abs(first.weight.numpy()).max() <= 1 / 8
    assert np.abs(hidden.weight.numpy()).max() <= math.sqrt(6 / 8) / 30
    x = cr.randn(5, 8)
    np.testing.assert_allclose(hidden(x).numpy(),
                               np.sin(30 * (x.numpy() @ hidden.weight.numpy().T
                                            + hidden.bias.numpy())), rtol=1e-4, atol=1e-5)


# ---- Dropout -------------------------------------------------------------------------------
def test_dropout_train_is_inverted_and_reproducible():
    x = cr.ones(200, 500)
    m = nn.Dropout(0.25)
    cr.manual_seed(3)
    y = m(x).numpy()
    assert set(np.unique(y).tolist()) == {0.0, np.float32(1 / 0.75)}
    assert (y == 0).mean() == pytest.approx(0.25, abs=0.01)
    assert y.mean() == pytest.approx(1.0, abs=0.01)  # E[y] = x
    cr.manual_seed(3)
    np.testing.assert_array_equal(m(x).numpy(), y)
    assert (nn.Dropout(1.0)(x).numpy() == 0).all()


def test_dropout_eval_is_identity():
    x = cr.randn(3, 4)
    assert nn.Dropout(0.5).eval()(x) is x
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\]; got 1.5"):
        nn.Dropout(1.5)


def test_dropout_gradient_uses_the_mask():
    x = cr.ones(4, 50, requires_grad=True)
    y = nn.Dropout(0.5)(x)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.numpy())


# ---- BatchNorm1d ---------------------------------------------------------------------------
def _bn_reference(x, running_mean, running_var, momentum):
    """Closed forms: normalize by the biased variance, track the unbiased one."""
    axes = (0,) if x.ndim == 2 else (0, 2)
    n = x.size // x.shape[1]
    mean, var = x.mean(axes), x.var(axes)
    shape = (1, -1) + (1,) * (x.ndim - 2)
    y = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + 1e-5)
    running_mean = (1 - momentum) * running_mean + momentum * mean
    running_var = (1 - momentum) * running_var + momentum * var * n / (n - 1)
    return y, running_mean, running_var


@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 5)])
def test_batchnorm_train_and_eval_closed_form(shape, float64):
    m = nn.BatchNorm1d(3)
    rm, rv = np.zeros(3), np.ones(3)
    for _ in range(3):
        x = rng.normal(2.0, 3.0, size=shape)
        y_ref, rm, rv = _bn_reference(x, rm, rv, 0.1)
        np.testing.assert_allclose(m(cr.tensor(x)).numpy(), y_ref, atol=1e-12)
        np.testing.assert_allclose(m.running_mean.numpy(), rm)
        np.testing.assert_allclose(m.running_var.numpy(), rv)
    assert int(m.num_batches_tracked.item()) == 3
    m.eval()
    x = rng.normal(size=shape)
    s = (1, -1) + (1,) * (len(shape) - 2)
    np.testing.assert_allclose(m(cr.tensor(x)).numpy(),
                               (x - rm.reshape(s)) / np.sqrt(rv.reshape(s) + 1e-5))
    np.testing.assert_allclose(m.running_mean.numpy(), rm)  # eval does not update


def test_batchnorm_momentum_none_is_cumulative_average(float64):
    m = nn.BatchNorm1d(2, momentum=None)
    batches = [rng.normal(size=(6, 2)) for _ in range(4)]
    for x in batches:
        m(cr.tensor(x))
    np.testing.assert_allclose(m.running_mean.numpy(), np.mean([b.mean(0) for b in batches], 0))


def test_batchnorm_buffers_are_float32_and_in_state_dict():
    m = nn.BatchNorm1d(4)
    sd = m.state_dict()
    assert list(sd) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert sd["running_mean"].dtype == np.float32 and sd["num_batches_tracked"].dtype == np.int64


def test_batchnorm_errors():
    with pytest.raises(ValueError, match=r"BatchNorm1d: expected input of shape \(N, 3\)"):
        nn.BatchNorm1d(3)(cr.zeros(4, 5))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(cr.zeros(1, 3))


# ---- LayerNorm -----------------------------------------------------------------------------
def test_layernorm_closed_form(float64):
    m = nn.LayerNorm((2, 3))
    x = rng.normal(size=(4, 2, 3))
    mean = x.mean((1, 2), keepdims=True)
    var = x.var((1, 2), keepdims=True)
    np.testing.assert_allclose(m(cr.tensor(x)).numpy(), (x - mean) / np.sqrt(var + 1e-5))
    with pytest.raises(ValueError, match=r"normalized_shape \(2, 3\)"):
        m(cr.zeros(4, 3, 2))


# ---- Embedding -----------------------------------------------------------------------------
def test_embedding_lookup_and_padding_gradient():
    m = nn.Embedding(5, 3, padding_idx=0)
    assert (m.weight.numpy()[0] == 0).all()
    idx = np.array([[0, 2], [2, 4]])
    out = m(idx)
    np.testing.assert_array_equal(out.numpy(), m.weight.numpy()[idx])
    out.sum().backward()
    np.testing.assert_array_equal(m.weight.grad.numpy()[:, 0], [0, 0, 2, 0, 1])
    with pytest.raises(ValueError, match="index 5 is out of range for 5 embeddings"):
        m(np.array([5]))
    with pytest.raises(TypeError, match="integers"):
        m(np.array([1.0]))


# ---- PyTorch parity ------------------------------------------------------------------------
def _torch_module(torch, ours):
    """The PyTorch twin of one of our modules, with the same weights (float64)."""
    name = type(ours).__name__
    kwargs = {"BatchNorm1d": lambda m: dict(num_features=m.num_features, momentum=m.momentum,
                                            affine=m.affine,
                                            track_running_stats=m.track_running_stats),
              "LayerNorm": lambda m: dict(normalized_shape=m.normalized_shape,
                                          elementwise_affine=m.elementwise_affine),
              "Linear": lambda m: dict(in_features=m.in_features, out_features=m.out_features),
              "Dropout": lambda m: dict(p=m.p)}[name](ours)
    twin = getattr(torch.nn, name)(**kwargs).double()
    twin.load_state_dict({k: torch.tensor(np.array(v.numpy()))
                          for k, v in ours.state_dict().items()})
    return twin


@pytest.mark.parametrize("make, shape", [
    (lambda: nn.BatchNorm1d(3), (6, 3)),
    (lambda: nn.BatchNorm1d(3, momentum=0.3), (4, 3, 5)),
    (lambda: nn.BatchNorm1d(3, momentum=None), (6, 3)),
    (lambda: nn.BatchNorm1d(3, affine=False), (6, 3)),
    (lambda: nn.LayerNorm(5), (3, 5)),
    (lambda: nn.LayerNorm((3, 5)), (2, 3, 5)),
    (lambda: nn.Linear(5, 2), (3, 5)),
    (lambda: nn.Dropout(0.4).eval(), (3, 5)),
], ids=["bn", "bn-3d-momentum", "bn-cumulative", "bn-no-affine", "ln", "ln-2d", "linear",
        "dropout-eval"])
def test_torch_parity_train_and_eval(make, shape, float64):
    torch = pytest.importorskip("torch")
    ours = make()
    for p in ours.parameters():
        p.data = cr.tensor(p.numpy() + rng.normal(size=p.shape) * 0.5)  # (on the test's device)
    twin = _torch_module(torch, ours)
    twin.train(ours.training)
    for step in range(4):
        if step == 3:
            ours.eval()
            twin.eval()
        x = rng.normal(1.0, 2.0, size=shape)
        u = rng.normal(size=shape[:-1] + (getattr(ours, "out_features", shape[-1]),))
        cx, tx = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        cy, ty = ours(cx), twin(tx)
        np.testing.assert_allclose(cy.numpy(), ty.detach().numpy(), rtol=1e-6, atol=1e-6)
        cy.backward(cr.tensor(u))
        ty.backward(torch.tensor(u))
        np.testing.assert_allclose(cx.grad.numpy(), tx.grad.numpy(), rtol=1e-6, atol=1e-6)
        for (name, p), tp in zip(ours.named_parameters(), twin.parameters()):
            np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-6, atol=1e-6,
                                       err_msg=name)
            p.grad, tp.grad = None, None
        for name, b in ours.named_buffers():
            np.testing.assert_allclose(b.numpy(), twin.get_buffer(name).numpy(), rtol=1e-6,
                                       err_msg=name)


@pytest.mark.parametrize("ours, theirs", [
    (lambda: nn.GELU(), "GELU()"), (lambda: nn.GELU("tanh"), "GELU(approximate='tanh')"),
    (lambda: nn.ELU(0.5), "ELU(0.5)"), (lambda: nn.LeakyReLU(0.1), "LeakyReLU(0.1)"),
    (lambda: nn.Softplus(2.0, 3.0), "Softplus(2.0, 3.0)"), (lambda: nn.SiLU(), "SiLU()"),
    (lambda: nn.Softmax(0), "Softmax(0)"), (lambda: nn.LogSoftmax(1), "LogSoftmax(1)"),
])
def test_torch_parity_activations(ours, theirs, float64):
    torch = pytest.importorskip("torch")
    x = rng.normal(size=(4, 3)) * 3
    cx, tx = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    cy, ty = ours()(cx), eval(f"torch.nn.{theirs}")(tx)
    np.testing.assert_allclose(cy.numpy(), ty.detach().numpy(), rtol=1e-6, atol=1e-7)
    u = rng.normal(size=x.shape)
    cy.backward(cr.tensor(u))
    ty.backward(torch.tensor(u))
    np.testing.assert_allclose(cx.grad.numpy(), tx.grad.numpy(), rtol=1e-6, atol=1e-7)


def test_torch_parity_embedding_padding(float64):
    torch = pytest.importorskip("torch")
    ours = nn.Embedding(6, 3, padding_idx=2)
    twin = torch.nn.Embedding(6, 3, padding_idx=2).double()
    with torch.no_grad():
        twin.weight.copy_(torch.tensor(ours.weight.numpy()))
    idx = np.array([[2, 1, 5], [1, 1, 2]])
    u = rng.normal(size=(2, 3, 3))
    ours(idx).backward(cr.tensor(u))
    twin(torch.tensor(idx)).backward(torch.tensor(u))
    np.testing.assert_allclose(ours.weight.grad.numpy(), twin.weight.grad.numpy())
