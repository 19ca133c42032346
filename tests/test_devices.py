"""Devices: cr.device, Tensor.to/.cpu/.cuda, device= on the factories, Module.to, optimizers
on a device, checkpoints with map_location, the fake device's CuPy-like refusals, deferred
label checks, and the budget of a compiled W1 step on a device (copies, reads, launches)."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import _fake
from chainrule.core import backend

F = cr.nn.functional


@pytest.fixture(autouse=True)
def _clean():
    yield
    cr.set_default_device(None)
    backend.PENDING.clear()


def test_device_names_parse_and_compare_as_torch():
    assert cr.device("cuda:1").type == "cuda" and cr.device("cuda:1").index == 1
    assert cr.device("cuda", 0) == "cuda:0" and str(cr.device("fake")) == "fake"
    assert repr(cr.device("cuda:2")) == "device(type='cuda', index=2)"
    assert cr.device("cpu") != cr.device("fake")
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        cr.device("tpu")


def test_to_moves_between_devices_and_the_gradient_comes_back():
    x = cr.tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = x.to("fake")
    assert y.device == "fake" and x.device == "cpu" and y.dtype == np.float32
    (y * y).sum().backward()
    assert x.grad.device == "cpu" and x.grad.tolist() == [2.0, -4.0, 6.0]
    z = x.to("fake", cr.float64)
    assert z.dtype == np.float64 and z.device == "fake"
    assert x.to("cpu") is x and y.cpu().device == "cpu" and y.to(x).device == "cpu"


def test_factories_take_device_and_the_default_device():
    for make in (lambda **k: cr.zeros(2, 3, **k), lambda **k: cr.ones(2, **k),
                 lambda **k: cr.full((2,), 3.0, **k), lambda **k: cr.arange(4, **k),
                 lambda **k: cr.eye(2, **k), lambda **k: cr.randn(3, **k),
                 lambda **k: cr.rand(3, **k), lambda **k: cr.randint(0, 5, (3,), **k),
                 lambda **k: cr.randperm(5, **k), lambda **k: cr.tensor([1.0], **k),
                 lambda **k: cr.linspace(0, 1, 3, **k), lambda **k: cr.empty(2, **k)):
        assert make(device="fake").device == "fake"
        assert make().device == "cpu"
    cr.set_default_device("fake")
    assert cr.zeros(2).device == "fake" and cr.Tensor(np.ones(2)).device == "fake"
    assert cr.get_default_device() == "fake" and cr.zeros_like(cr.zeros(2)).device == "fake"
    cr.set_default_device("cpu")
    assert cr.zeros(2).device == "cpu"
    assert sorted(cr.randperm(6, device="fake").cpu().tolist()) == list(range(6))


def test_device_tensors_refuse_numpy_and_synchronise_on_item():
    x = cr.tensor([1.5, 2.5]).to("fake")
    with pytest.raises(TypeError, match=r"use|\.cpu\(\)"):
        x.numpy()
    with pytest.raises(TypeError, match=r"\.cpu\(\)"):
        np.asarray(x)
    before = _fake.counters.reads
    assert x.sum().item() == 4.0 and float(x[0]) == 1.5 and bool(x[1] > 2)
    assert _fake.counters.reads == before + 3
    assert x.cpu().numpy().tolist() == [1.5, 2.5] and x.numpy(force=True).tolist() == [1.5, 2.5]
    assert "device='fake'" in repr(x)


def test_data_assignment_keeps_numpy_values_on_the_device_and_adopts_a_tensors():
    t = cr.zeros(2, device="fake")
    t.data = np.array([1.0, 2.0], dtype=np.float32)  # NumPy values join the tensor's device
    assert t.device == "fake" and t.cpu().numpy().tolist() == [1.0, 2.0]
    t.data = cr.tensor([3.0, 4.0])  # a Tensor's data comes with its device, as torch's
    assert t.device == "cpu" and t.numpy().tolist() == [3.0, 4.0]
    m = cr.nn.Linear(2, 2).to("fake")
    m.cpu()  # Module.to moves in place: the CPU really is the destination
    assert m.weight.device == "cpu"


def test_mixing_devices_names_the_op_and_both_devices():
    with pytest.raises(RuntimeError, match="add: tensors on different devices: fake and cpu"):
        cr.ones(2).to("fake") + cr.ones(2)
    with pytest.raises(RuntimeError, match="matmul: tensors on different devices: cpu and fake"):
        cr.ones(2, 2) @ cr.ones(2, 2).to("fake")


def test_the_fake_device_behaves_like_cupy_where_it_matters():
    a = cr.ones(3).to("fake")._data
    with pytest.raises(TypeError, match="host ndarray"):
        a + np.ones(3)
    with pytest.raises(TypeError, match="not an index"):
        [1, 2][a[0].astype(np.int64)]
    assert type(a.sum()) is _fake.FakeArray and a.sum().ndim == 0  # 0-d, not a scalar
    assert not hasattr(_fake.xp, "errstate") or pytest.fail("errstate")
    g = _fake.rng(None)
    for missing in ("normal", "permutation", "shuffle", "choice"):
        assert not hasattr(g, missing)
    bad = np.array([[1.0, 2.0], [2.0, 1.0]]).view(_fake.FakeArray)
    assert np.isnan(np.linalg.cholesky(bad).view(np.ndarray)).all()


def test_cuda_is_refused_clearly_without_a_gpu():
    assert cr.cuda.is_available() is False and cr.cuda.device_count() == 0
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        cr.zeros(2, device="cuda")
    cr.cuda.manual_seed(0)
    cr.cuda.synchronize()
    device = "cuda" if cr.cuda.is_available() else "cpu"  # the README's idiom runs everywhere
    assert cr.nn.Linear(2, 2).to(device).weight.device == "cpu"


def test_module_to_keeps_parameters_and_the_optimizer_follows():
    cr.manual_seed(0)
    model = cr.nn.Sequential(cr.nn.Linear(4, 8), cr.nn.ReLU(), cr.nn.Linear(8, 3))
    reference = cr.nn.Sequential(cr.nn.Linear(4, 8), cr.nn.ReLU(), cr.nn.Linear(8, 3))
    reference.load_state_dict(model.state_dict())
    params = list(model.parameters())
    opt = cr.optim.Adam(model.parameters(), lr=0.01)
    ref_opt = cr.optim.Adam(reference.parameters(), lr=0.01)
    x, y = cr.randn(16, 4), cr.randint(0, 3, (16,))
    for m, o, xs, ys in ((model, opt, x, y), (reference, ref_opt, x, y)):
        o.zero_grad()
        F.cross_entropy(m(xs), ys).backward()
        o.step()
    model.to("fake")
    assert list(model.parameters()) == params and all(p.device == "fake" for p in params)
    xf, yf = x.to("fake"), y.to("fake")
    for _ in range(3):
        for m, o, xs, ys in ((model, opt, xf, yf), (reference, ref_opt, x, y)):
            o.zero_grad()
            F.cross_entropy(m(xs), ys).backward()
            o.step()
    assert opt.state[params[0]]["exp_avg"].device == "fake"
    for p, q in zip(model.parameters(), reference.parameters()):
        np.testing.assert_allclose(p.cpu().numpy(), q.numpy(), rtol=1e-6, atol=1e-7)
    model.cpu()
    assert params[0].device == "cpu"


def test_label_checks_on_a_device_are_deferred_to_the_next_read():
    x = cr.randn(4, 3, device="fake")
    loss = F.cross_entropy(x, cr.tensor([0, 1, 5, 2]).to("fake"))  # 5: out of range
    with pytest.raises(ValueError, match="cross_entropy: a class label is out of range for 3"):
        loss.item()
    assert not backend.PENDING
    assert np.isfinite(F.cross_entropy(x, cr.tensor([0, 1, 2, -100]).to("fake")).item())
    with pytest.raises(ValueError, match="nll_loss: a class label is out of range"):
        F.nll_loss(x, cr.tensor([0, 3, 1, 2]).to("fake")).cpu()


def _w1(device, batch=32, steps=10, compiled=False):
    cr.manual_seed(0)
    model = cr.nn.Sequential(cr.nn.Linear(784, 256), cr.nn.ReLU(), cr.nn.Linear(256, 128),
                             cr.nn.ReLU(), cr.nn.Linear(128, 10)).to(device)
    opt = cr.optim.Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(1)
    x = cr.tensor(rng.standard_normal((batch, 784), dtype=np.float32)).to(device)
    y = cr.tensor(rng.integers(0, 10, batch)).to(device)

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    run = cr.compile(step) if compiled else step
    return run, x, y


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
def test_w1_on_the_fake_device_agrees_with_the_cpu(compiled):
    losses = {}
    for device in ("cpu", "fake"):
        run, x, y = _w1(device, compiled=compiled)
        losses[device] = [run(x, y).item() for _ in range(10)]
    np.testing.assert_allclose(losses["fake"], losses["cpu"], rtol=1e-6)


# per compiled W1 step and one read of its loss (launches as the fake counts them: ufunc and
# array-function calls; the label flag's check is the one device-to-host copy at the read)
BUDGET = {"h2d": 0, "reads": 1, "d2h": 1, "launches": 66}


def test_the_budget_of_a_compiled_w1_step_on_a_device():
    run, x, y = _w1("fake", compiled=True)
    for _ in range(3):  # trace, then replays
        run(x, y)
    _fake.counters.reset()
    loss = run(x, y)
    no_read = _fake.counters.snapshot()
    loss.item()
    after = _fake.counters.snapshot()
    assert no_read["h2d"] == 0 and no_read["reads"] == 0 and no_read["d2h"] == 0
    assert after["h2d"] <= BUDGET["h2d"] and after["reads"] <= BUDGET["reads"]
    assert after["d2h"] <= BUDGET["d2h"]  # the deferred label flag, copied after the read
    assert after["launches"] <= BUDGET["launches"]


def test_an_eager_w1_step_on_a_device_copies_nothing_and_reads_nothing():
    run, x, y = _w1("fake")
    run(x, y)
    run(x, y)
    _fake.counters.reset()
    run(x, y)
    c = _fake.counters
    assert c.h2d == 0 and c.reads == 0 and c.d2h == 0


def test_dropout_and_init_draw_on_the_device():
    cr.manual_seed(0)
    x = cr.ones(1000, device="fake")
    y = F.dropout(x, 0.5, training=True)
    assert y.device == "fake" and 300 < (y.cpu().numpy() == 0).sum() < 700
    lin = cr.nn.Linear(3, 2)
    lin.to("fake")
    cr.nn.init.normal_(lin.weight)
    assert lin.weight.device == "fake"


def test_fit_on_a_device_reads_the_loss_once_per_logging_interval():
    X, y = cr.data.make_moons(256, seed=0)
    history, reads = {}, {}
    for device in ("cpu", "fake"):
        cr.manual_seed(0)
        model = cr.nn.Sequential(cr.nn.Linear(2, 16), cr.nn.ReLU(), cr.nn.Linear(16, 2))
        model.to(device)
        opt = cr.optim.Adam(model.parameters(), lr=0.05)
        _fake.counters.reset()
        h = cr.train.fit(model, F.cross_entropy, opt, (X, y), epochs=2, seed=0, progress=False,
                         log_every=4)
        history[device], reads[device] = h["loss"], _fake.counters.snapshot()
    np.testing.assert_allclose(history["fake"], history["cpu"], rtol=1e-6)
    # 8 batches an epoch, read 4 at a time: 2 loss reads (and 2 label-flag checks) an epoch
    assert reads["fake"]["reads"] == 0 and reads["fake"]["d2h"] <= 2 * 2 * 2
    with pytest.raises(ValueError, match="log_every must be a positive integer"):
        cr.train.fit(model, F.cross_entropy, opt, (X, y), log_every=0, progress=False)


def test_checkpoints_save_device_tensors_and_load_onto_a_chosen_device(tmp_path):
    cr.manual_seed(0)
    model = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.BatchNorm1d(4)).to("fake")
    path = tmp_path / "m.safetensors"
    cr.save(model.state_dict(), path)
    on_cpu, on_fake = cr.load(path), cr.load(path, map_location="fake")
    assert all(t.device == "cpu" for t in on_cpu.values())
    assert all(t.device == "fake" for t in on_fake.values())
    for k, t in model.state_dict().items():
        np.testing.assert_array_equal(on_cpu[k].numpy(), t.cpu().numpy())
    other = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.BatchNorm1d(4)).to("fake")
    other.load_state_dict(on_cpu)  # host values into device parameters
    np.testing.assert_array_equal(other[0].weight.cpu().numpy(), model[0].weight.cpu().numpy())
    with pytest.raises(RuntimeError, match="load: CUDA is not available"):
        cr.load(path, map_location="cuda")


def test_the_instruments_refuse_device_tensors_with_a_clear_error():
    model = cr.nn.Linear(2, 1).to("fake")
    x = cr.ones(2, requires_grad=True).to("fake")
    for call in (lambda: cr.inspect.gradient_flow(model),
                 lambda: cr.inspect.explain((x * x).sum()),
                 lambda: cr.optimize.minimize(lambda v: (v * v).sum(), x.detach()),
                 lambda: cr.optimize.least_squares(lambda v: v - 1.0, x.detach())):
        with pytest.raises(TypeError, match=r"computes on the host; got a tensor on device "
                                            r"'fake' \(move it, or the model, with \.cpu\(\)"):
            call()
    with pytest.raises(TypeError, match=r"on device 'fake'; copy it to the host with \.cpu\(\)"):
        cr.linear.LinearRegression().fit(cr.ones(4, 2).to("fake"), cr.ones(4).to("fake"))


def test_cholesky_of_a_non_positive_definite_matrix_raises_at_the_next_read():
    A = cr.tensor([[1.0, 2.0], [2.0, 1.0]], device="fake")
    L = cr.linalg.cholesky(A)  # the device returns NaN (as cuSOLVER) and sets a flag
    with pytest.raises(ValueError, match="cholesky: the matrix is not positive-definite"):
        L.sum().item()
    good = cr.linalg.cholesky(cr.tensor([[4.0, 2.0], [2.0, 3.0]], device="fake"))
    np.testing.assert_allclose(good.cpu().numpy(), np.linalg.cholesky([[4.0, 2.0], [2.0, 3.0]]),
                               rtol=1e-6)
