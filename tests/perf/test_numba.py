"""The numba kernels (chainrule/_numba.py) give NumPy's bits: each hot spot computed with the
kernels and with its NumPy code, through the public API, compared with array_equal."""

import os
import subprocess
import sys

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import _numba
from chainrule.ops.attention import AttentionWeights, AttentionWeightsGrad
from chainrule.ops.normalization import LayerNormGrad
from chainrule.ops.shape import _rows_add

DTYPES = [np.float32, np.float64]


@pytest.fixture
def kernels():
    pytest.importorskip("numba")
    k = _numba.get()
    if k is None:
        pytest.skip("numba kernels switched off (CHAINRULE_NUMBA=0)")
    return k


def both(monkeypatch, f):
    """(f() with the kernels, f() with NumPy only)"""
    fused = f()
    with monkeypatch.context() as m:
        m.setattr(_numba, "get", lambda: None)
        plain = f()
    return fused, plain


def same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=True) \
        and np.array_equal(np.signbit(a), np.signbit(b))


def optimizer_steps(name, dtype, shapes, steps, **options):
    """run() for `steps` steps of optim.`name` on random parameters of `shapes`, gradients
    from 1e-8 to 1e3: [the parameters, every state tensor, the first one's start]"""
    def run():
        rng = np.random.default_rng(0)
        params = [cr.tensor(rng.standard_normal(s).astype(dtype), requires_grad=True)
                  for s in shapes]
        opt = getattr(cr.optim, name)(params, lr=1e-2, **options)
        start = params[0].numpy().copy()
        for _ in range(steps):
            for p in params:
                p.grad = cr.tensor((rng.standard_normal(p.shape) *
                                    10.0 ** rng.uniform(-8, 3)).astype(dtype))
            opt.step()
        state = [v.numpy().copy() for p in params for k, v in sorted(opt.state[p].items())
                 if isinstance(v, cr.Tensor) and k != "step"]
        return [p.numpy().copy() for p in params] + state + [start]
    return run


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("options", [{}, {"weight_decay": 0.1}, {"maximize": True},
                                     {"weight_decay": 0.01, "decoupled_weight_decay": True}])
def test_adam_steps_are_numpys_bits(kernels, monkeypatch, dtype, options):
    run = optimizer_steps("Adam", dtype, [(7, 5), (5,), (3, 2, 4)], 30, **options)
    fused, plain = both(monkeypatch, run)
    assert len(fused) == len(plain) == 10  # 3 parameters, their 6 moments, the start
    assert all(same(a, b) for a, b in zip(fused, plain))
    assert np.abs(fused[0] - fused[-1]).min() > 0  # every weight moved


def test_adam_runs_the_kernel(kernels, monkeypatch):
    calls = []
    monkeypatch.setattr(_numba, "get", lambda: type("K", (), {"adam": staticmethod(
        lambda *a: calls.append(a[0].size) or kernels.adam(*a))}))
    w = cr.tensor(np.ones((4, 3), np.float32), requires_grad=True)
    opt = cr.optim.Adam([w], lr=0.1)
    (w * w).sum().backward()
    opt.step()
    assert calls == [12]
    np.testing.assert_allclose(w.numpy(), 0.9, rtol=1e-6)  # the first step moves each weight by lr


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n, m, width", [(64, 512, 64), (5, 100, 3), (3, 7, 1), (4, 1000, 3),
                                         (2, 300, 5), (1, 17, 1), (6, 2000, 1)])
def test_rows_add_sums_in_reduceats_order(kernels, monkeypatch, dtype, n, m, width):
    rng = np.random.default_rng(n * m)
    index = rng.integers(-n, n, m)  # segments below 8, up to 128 and beyond (the halving)
    g = (rng.standard_normal((m, width)) * 10.0 ** rng.integers(-3, 4, (m, 1))).astype(dtype)
    g[0] = -0.0

    def run():
        out = np.zeros((n, width), dtype)
        _rows_add(out, index, g)
        return out

    fused, plain = both(monkeypatch, run)
    assert same(fused, plain)
    np.testing.assert_allclose(fused, [g[(index % n) == r].sum(0) for r in range(n)],
                               rtol=1e-4 if dtype == np.float32 else 1e-10, atol=1e-3)


def test_rows_add_of_negative_zeros_stays_negative(kernels, monkeypatch):
    g = np.full((9, 2), -0.0, np.float32)
    fused, plain = both(monkeypatch, lambda: (_rows_add(o := np.zeros((3, 2), np.float32),
                                                        np.array([0] * 9), g), o)[1])
    assert same(fused, plain) and np.signbit(fused[0]).all() and not np.signbit(fused[1]).any()


def test_rows_add_names_an_index_out_of_range(kernels):
    with pytest.raises(IndexError, match="index 7 is out of bounds for axis 0 with size 4"):
        _rows_add(np.zeros((4, 2), np.float32), np.array([1, 7, 2]), np.ones((3, 2), np.float32))


def test_embedding_backward_is_numpys_bits(kernels, monkeypatch):
    def run():
        cr.manual_seed(0)
        emb = cr.nn.Embedding(50, 8)
        idx = cr.tensor(np.random.default_rng(1).integers(0, 50, (16, 32)))
        (emb(idx) ** 2).sum().backward()
        return emb.weight.grad.numpy()

    fused, plain = both(monkeypatch, run)
    assert same(fused, plain)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, k", [((16, 32, 64), 1), ((5, 7), 1), ((3, 4, 5, 6), 2),
                                      ((2, 3), 2), ((1, 130), 1)])
@pytest.mark.parametrize("affine", [(True, True), (True, False), (False, True), (False, False)])
def test_layer_norm_forward_and_backward_are_numpys_bits(kernels, monkeypatch, dtype, shape, k,
                                                        affine):
    rng = np.random.default_rng(len(shape) * 10 + k)
    x0 = (rng.standard_normal(shape) * 3 + 1).astype(dtype)
    tail = shape[len(shape) - k:]
    w0, b0 = (rng.standard_normal(tail).astype(dtype) for _ in range(2))
    g0 = rng.standard_normal(shape).astype(dtype)

    def run():
        x = cr.tensor(x0, requires_grad=True)
        w = cr.tensor(w0, requires_grad=True) if affine[0] else None
        b = cr.tensor(b0, requires_grad=True) if affine[1] else None
        y = F.layer_norm(x, tail, w, b)
        y.backward(cr.tensor(g0))
        return [y.numpy(), x.grad.numpy()] + [t.grad.numpy() for t in (w, b) if t is not None]

    fused, plain = both(monkeypatch, run)
    assert all(same(a, b) for a, b in zip(fused, plain))
    # the backward that computes the statistics again (no saved mean and rstd)
    wb = [a for a, on in zip((w0, b0), affine) if on]
    again = both(monkeypatch, lambda: LayerNormGrad(k, 1e-5, *affine, False).forward(
        x0, *wb, g0))
    assert all(same(a, b) for a, b in zip(*again))
    assert all(same(a, b) for a, b in zip(again[0], fused[1:]))


def test_layer_norm_backward_reads_the_forward_statistics(kernels, monkeypatch):
    from chainrule.ops import normalization

    calls = []
    real = normalization._fused_stats
    monkeypatch.setattr(normalization, "_fused_stats", lambda *a: calls.append(1) or real(*a))
    x = cr.tensor(np.random.default_rng(0).standard_normal((4, 6)).astype(np.float32),
                  requires_grad=True)
    F.layer_norm(x, 6).sum().backward()
    assert calls == [1]  # in the forward only


def _mask(kind, L, S, dtype):
    if kind is None:
        return None
    m = np.where(np.tril(np.ones((L, S), bool)), 0.0, -np.inf).astype(dtype)
    if kind == "a row all masked":
        m[0] = -np.inf
    if kind == "nan":
        m[1, 0] = np.nan
    if kind == "random (1, 1, L, S)":
        m = np.random.default_rng(0).standard_normal((1, 1, L, S)).astype(dtype)
    return m


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(16, 4, 32, 16), (2, 5, 3), (1, 7, 9, 4)])
@pytest.mark.parametrize("kind", [None, "causal", "a row all masked", "nan",
                                  "random (1, 1, L, S)"])
def test_attention_weights_are_numpys_bits(kernels, monkeypatch, dtype, shape, kind):
    rng = np.random.default_rng(3)
    L = shape[-2]
    S = L + 3 if len(shape) == 3 else L
    q = rng.standard_normal(shape).astype(dtype)
    k = rng.standard_normal(shape[:-2] + (S, shape[-1])).astype(dtype)
    mask = _mask(kind, L, S, dtype)
    args = (q, k) if mask is None else (q, k, mask)
    p, p_plain = both(monkeypatch, lambda: AttentionWeights(0.25, False).forward(*args))
    assert same(p, p_plain)
    gp = rng.standard_normal(p.shape).astype(dtype)
    grads = both(monkeypatch, lambda: AttentionWeightsGrad(0.25, False).forward(q, k, p, gp))
    assert all(same(a, b) for a, b in zip(*grads))
    if kind == "a row all masked":
        assert not p[..., 0, :].any()  # a row with every key masked gives 0, not nan


def test_attention_with_other_masks_keeps_numpy(kernels, monkeypatch):
    rng = np.random.default_rng(4)
    q, k = (rng.standard_normal((3, 2, 8, 4)).astype(np.float32) for _ in range(2))
    for shape, dtype in [((2, 8, 8), np.float32), ((8, 1), np.float32), ((8, 8), np.float64)]:
        mask = rng.standard_normal(shape).astype(dtype)
        fused, plain = both(monkeypatch,
                            lambda m=mask: AttentionWeights(0.5, False).forward(q, k, m))
        assert same(fused, plain)


def test_a_transformer_trains_to_the_same_bits(kernels, monkeypatch):
    def run(compiled):
        cr.manual_seed(0)
        layer = cr.nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, batch_first=True)
        head = cr.nn.Linear(16, 5)
        params = list(layer.parameters()) + list(head.parameters())
        opt = cr.optim.Adam(params, lr=1e-2)
        rng = np.random.default_rng(0)
        x = cr.tensor(rng.standard_normal((4, 6, 16)).astype(np.float32))
        y = cr.tensor(rng.integers(0, 5, (4 * 6,)))
        mask = cr.nn.Transformer.generate_square_subsequent_mask(6)

        def step():
            opt.zero_grad()
            loss = F.cross_entropy(head(layer(x, src_mask=mask)).reshape(-1, 5), y)
            loss.backward()
            opt.step()
            return loss

        step = cr.compile(step) if compiled else step
        losses = [float(step().item()) for _ in range(4)]
        return losses, [p.numpy().copy() for p in params]

    (losses, weights), (losses0, weights0) = both(monkeypatch, lambda: run(False))
    assert losses == losses0 and all(same(a, b) for a, b in zip(weights, weights0))
    assert losses[-1] < losses[0]
    c_losses, c_weights = run(True)  # compiled with the kernels: eager's bits
    assert c_losses == losses and all(same(a, b) for a, b in zip(c_weights, weights))


def test_fits_takes_contiguous_numpy_floats_of_one_dtype():
    a = np.zeros((3, 4), np.float32)
    assert _numba.fits(a, a.reshape(-1))
    assert not _numba.fits(a, a.astype(np.float64))
    assert not _numba.fits(a.T)
    assert not _numba.fits(a.astype(np.int64))
    assert not _numba.fits(a, np.zeros((3, 4), np.float16))


@pytest.mark.parametrize("switch", ["1", "0"])
def test_numba_is_imported_on_first_use_only_and_can_be_switched_off(switch):
    code = ("import sys, chainrule, chainrule._numba as k; print('numba' in sys.modules); "
            "print(k.enabled())")
    env = dict(os.environ, CHAINRULE_NUMBA=switch)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    try:
        import numba  # noqa: F401
        available = switch == "1"
    except ImportError:
        available = False
    assert out == ["False", str(available)]


def test_without_numba_get_returns_none(monkeypatch):
    monkeypatch.setitem(sys.modules, "numba", None)  # import numba raises ImportError
    monkeypatch.setattr(_numba, "_loaded", False)
    monkeypatch.setattr(_numba, "_kernels", None)
    assert _numba.get() is None and not _numba.enabled()


def test_the_benchmark_of_the_loops_runs(kernels, capsys):
    from bench import numba_loops

    numba_loops.main(["--repeats", "1"])
    out = capsys.readouterr().out
    assert "layer_norm backward" in out and "Adam step, W1's 235,146 parameters" in out
    assert "the same bits" in out


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(512, 256), (7,), (3, 4, 5), ()])
def test_relu_and_its_gradient_are_numpys_bits(kernels, monkeypatch, dtype, shape):
    from chainrule.ops.elementwise import Relu, ReluGrad

    rng = np.random.default_rng(5)
    x = rng.standard_normal(shape).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    if x.size >= 7:
        flat = x.reshape(-1)
        flat[:7] = [-0.0, 0.0, np.nan, -np.nan, np.inf, -np.inf, -1e-45]
        g.reshape(-1)[:3] = [np.nan, -2.0, -0.0]
    y, y0 = both(monkeypatch, lambda: Relu().forward(x))
    assert same(y, y0)
    if x.size >= 7:
        assert not np.signbit(y.reshape(-1)[0]) and np.isnan(y.reshape(-1)[2])
    into = both(monkeypatch, lambda: Relu().forward_into(np.empty_like(x), x))
    assert same(*into) and same(into[0], y)
    inplace = both(monkeypatch, lambda: Relu().forward_into(a := x.copy(), a))
    assert same(*inplace) and same(inplace[0], y)
    gx, gx0 = both(monkeypatch, lambda: ReluGrad().forward(g, y))
    assert same(gx, gx0)
    into = both(monkeypatch, lambda: ReluGrad().forward_into(np.empty_like(g), g, y))
    assert same(*into) and same(into[0], gx)


@pytest.mark.filterwarnings("ignore:invalid value encountered")  # (NumPy's inf - inf row)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_cross_entropy_and_its_gradient_are_numpys_bits(kernels, monkeypatch, dtype, reduction):
    rng = np.random.default_rng(6)
    x0 = (rng.standard_normal((512, 64)) * 4).astype(dtype)
    x0[3, 5] = np.nan
    x0[4] = -np.inf
    x0[5, 7] = np.inf
    labels = rng.integers(0, 64, 512)

    def run():
        x = cr.tensor(x0, requires_grad=True)
        loss = F.cross_entropy(x, cr.tensor(labels), reduction=reduction)
        loss.backward()
        return loss.numpy(), x.grad.numpy()

    fused, plain = both(monkeypatch, run)
    assert all(same(a, b) for a, b in zip(fused, plain))
    clean = np.delete(np.arange(512), [3, 4, 5])  # and the finite rows are torch's numbers
    x = cr.tensor(x0[clean], requires_grad=True)
    F.cross_entropy(x, cr.tensor(labels[clean])).backward()
    e = np.exp(x0[clean].astype(np.float64) - x0[clean].max(1, keepdims=True))
    soft = e / e.sum(1, keepdims=True)
    soft[np.arange(len(clean)), labels[clean]] -= 1
    np.testing.assert_allclose(x.grad.numpy(), soft / len(clean), rtol=1e-4, atol=1e-9)


def test_kernels_compile_uncached_where_numba_cannot_write_a_cache(kernels, monkeypatch):
    import numba

    real = numba.njit

    def njit(*args, cache=False, **kw):
        if cache:
            raise RuntimeError("cannot cache function: no locator available for file")
        return real(*args, **kw)

    monkeypatch.setattr(numba, "njit", njit)
    monkeypatch.setattr(_numba, "_loaded", False)
    monkeypatch.setattr(_numba, "_kernels", None)
    fresh = _numba.get()
    assert fresh is not None and fresh is not kernels
    x = np.array([-1.0, 2.0, -0.0], np.float32)
    out = np.empty_like(x)
    fresh.relu(x, out, np.float32(0))
    assert same(out, np.maximum(x, 0))


@pytest.mark.parametrize("index_dtype", [np.int64, np.int32, np.int8, np.uint8, np.uint32,
                                         np.uint64])
def test_index_and_label_dtypes(kernels, monkeypatch, index_dtype):
    rng = np.random.default_rng(8)
    index = rng.integers(0, 10, 40).astype(index_dtype)
    g = rng.standard_normal((40, 3)).astype(np.float32)
    fused, plain = both(monkeypatch, lambda: (_rows_add(o := np.zeros((10, 3), np.float32),
                                                        index, g), o)[1])
    assert same(fused, plain)
    x0 = rng.standard_normal((40, 10)).astype(np.float32)

    def run():
        x = cr.tensor(x0, requires_grad=True)
        F.cross_entropy(x, cr.tensor(index)).backward()
        return x.grad.numpy()

    assert same(*both(monkeypatch, run))


def test_a_numba_that_cannot_load_warns_and_leaves_numpy(monkeypatch):
    import builtins

    real = builtins.__import__

    def broken(name, *args, **kw):
        if name == "numba":
            raise SystemError("numba needs an older NumPy")
        return real(name, *args, **kw)

    monkeypatch.setattr(builtins, "__import__", broken)
    monkeypatch.setattr(_numba, "_loaded", False)
    monkeypatch.setattr(_numba, "_kernels", None)
    monkeypatch.delenv("CHAINRULE_NUMBA", raising=False)
    with pytest.warns(RuntimeWarning, match="numba could not be imported.*older NumPy"):
        assert _numba.get() is None


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(32, 16), (7,), (3, 4, 5), ()])
def test_sigmoid_is_numpys_bits(kernels, monkeypatch, dtype, shape):
    from chainrule.ops.special import Sigmoid

    rng = np.random.default_rng(6)
    x = np.asarray(rng.standard_normal(shape) * 40, dtype)  # some e^-x overflow in float32
    if x.size >= 7:
        x.reshape(-1)[:7] = [-0.0, np.nan, np.inf, -np.inf, -1e4, 1e4, -89.0]
    calls = []
    real = _numba.get
    monkeypatch.setattr(_numba, "get", lambda: calls.append(1) or real())
    with np.errstate(over="raise"):  # the overflow of e^-x never reaches the user
        y, y0 = both(monkeypatch, lambda: Sigmoid().forward(x))
        assert same(y, y0)
        into = both(monkeypatch, lambda: Sigmoid().forward_into(np.empty_like(x), x))
        assert same(*into) and same(into[0], y)
        inplace = both(monkeypatch, lambda: Sigmoid().forward_into(a := x.copy(), a))
        assert same(*inplace) and same(inplace[0], y)
    assert calls  # the kernel path was asked
    with np.errstate(over="ignore"):
        exact = 1 / (1 + np.exp(-x.astype(np.float64)))
    np.testing.assert_allclose(y, exact, rtol=4 * np.finfo(dtype).eps, atol=np.finfo(dtype).tiny)
    if x.size >= 7:
        assert y.reshape(-1)[4] == 0.0 and y.reshape(-1)[5] == 1.0 and np.isnan(y.reshape(-1)[1])


def test_sigmoid_of_a_non_contiguous_input_keeps_numpy(kernels, monkeypatch):
    from chainrule.ops.special import Sigmoid

    x = np.random.default_rng(7).standard_normal((6, 8)).astype(np.float32)[:, ::2]
    y, y0 = both(monkeypatch, lambda: Sigmoid().forward(x))
    assert same(y, y0) and y.shape == (6, 4)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("options", [{}, {"momentum": 0.9}, {"momentum": 0.9, "dampening": 0.1},
                                     {"momentum": 0.9, "nesterov": True},
                                     {"momentum": 0.5, "weight_decay": 0.1},
                                     {"maximize": True}])
def test_sgd_steps_are_numpys_bits(kernels, monkeypatch, dtype, options):
    # 16,929 entries: over the plain kernel's floor
    run = optimizer_steps("SGD", dtype, [(130, 130), (5,), (3, 2, 4)], 20, **options)
    fused, plain = both(monkeypatch, run)
    assert len(fused) == len(plain) == (7 if options.get("momentum") else 4)
    assert all(same(a, b) for a, b in zip(fused, plain))
    assert np.abs(fused[0] - fused[-1]).min() > 0  # every weight moved


def test_sgd_runs_the_kernels(kernels, monkeypatch):
    calls = []
    fake = type("K", (), {
        "sgd": staticmethod(lambda *a: calls.append(("sgd", a[0].size)) or kernels.sgd(*a)),
        "sgd_momentum": staticmethod(lambda *a: calls.append(("momentum", a[0].size))
                                     or kernels.sgd_momentum(*a))})
    monkeypatch.setattr(_numba, "get", lambda: fake)
    w = cr.tensor(np.ones((40, 30), np.float32), requires_grad=True)
    opt = cr.optim.SGD([w], lr=0.1, momentum=0.9)
    for _ in range(2):
        opt.zero_grad()
        (w * w).sum().backward()
        opt.step()
    assert calls == [("momentum", 1200)]  # the first step creates the buffer with NumPy
    # w1 = 1 - 0.1 * 2 = 0.8; b2 = 0.9 * 2 + 1.6 = 3.4; w2 = 0.8 - 0.34 = 0.46
    np.testing.assert_allclose(w.numpy(), 0.46, rtol=1e-6)
    calls.clear()
    for n, expected in [(4096, [("sgd", 4096)]), (4095, [])]:  # NumPy below the floor
        v = cr.tensor(np.ones(n, np.float32), requires_grad=True)
        plain = cr.optim.SGD([v], lr=0.5)
        (v * v).sum().backward()
        plain.step()
        assert calls == expected and np.array_equal(v.numpy(), np.zeros(n, np.float32))
        calls.clear()
    small = cr.tensor(np.ones(5, np.float32), requires_grad=True)  # momentum: at any size
    opt = cr.optim.SGD([small], lr=0.1, momentum=0.9)
    for _ in range(2):
        opt.zero_grad()
        (small * small).sum().backward()
        opt.step()
    assert calls == [("momentum", 5)] and np.allclose(small.numpy(), 0.46, rtol=1e-6)
