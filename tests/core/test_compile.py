"""cr.compile: a replay gives the eager call's numbers bit for bit, and refuses what it cannot.

Every op of the op table is replayed (value, gradient, and gradient of the gradient) on inputs
it was not traced on; whole training steps (layers, losses, optimizers, schedulers, dropout,
batch norm, clipping) are replayed on new batches against the same steps run eagerly.
"""

import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn
from tests.core.op_table import OPS, draw


def _arrays(value):
    """Every array in a (nested) result, in order."""
    if isinstance(value, cr.Tensor):
        return [value.numpy()]
    if isinstance(value, (tuple, list)):
        return [a for v in value for a in _arrays(v)]
    return []


def _assert_same(a, b):
    xs, ys = _arrays(a), _arrays(b)
    assert len(xs) == len(ys)
    for x, y in zip(xs, ys):
        assert x.dtype == y.dtype and x.shape == y.shape
        np.testing.assert_array_equal(x, y)


# ---- every op: forward, first and second derivatives ---------------------------------------
def _derivatives(row):
    def step(*xs):
        out = row.fn(*xs)
        loss = sum((o * o).sum() for o in (out if isinstance(out, (tuple, list)) else [out]))
        grads = cr.autograd.grad(loss, xs, create_graph=row.second_order, allow_unused=True)
        grads = [g for g in grads if g is not None]
        if not row.second_order:
            return out, grads
        gg = sum((g * g).sum() for g in grads)
        return out, grads, cr.autograd.grad(gg, xs, allow_unused=True)

    return step


@pytest.mark.parametrize("row", OPS, ids=[r.id for r in OPS])
def test_every_op_replays_its_derivatives_bit_for_bit(row):
    rng = np.random.default_rng(0)
    step = _derivatives(row)
    compiled = cr.compile(step)
    for _ in range(4):  # two traced calls, then two replays, each on new inputs
        xs = [draw(s, d, rng) for s, d in zip(row.shapes, row.domain or ("real",) * 9)]
        eager = step(*[cr.tensor(x, requires_grad=True) for x in xs])
        replay = compiled(*[cr.tensor(x, requires_grad=True) for x in xs])
        _assert_same(eager, replay)
    assert len(compiled._entries) == 1 and compiled._entries[next(iter(compiled._entries))].programs


# ---- whole training steps -------------------------------------------------------------------
def _model(kind):
    cr.manual_seed(0)
    if kind == "relu-ce":
        return nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 4))
    if kind == "dropout-gelu":
        return nn.Sequential(nn.Linear(6, 16), nn.GELU(), nn.Dropout(0.3), nn.Linear(16, 4))
    if kind == "batchnorm":
        return nn.Sequential(nn.Linear(6, 16), nn.BatchNorm1d(16), nn.Tanh(), nn.Linear(16, 4))
    if kind == "layernorm":
        return nn.Sequential(nn.Linear(6, 16), nn.LayerNorm(16), nn.LeakyReLU(0.1),
                             nn.Linear(16, 4))
    return nn.Sequential(nn.Linear(6, 8), nn.Sigmoid(), nn.Linear(8, 4), nn.ELU())


OPTIMIZERS = {
    "sgd-momentum": lambda p: cr.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
    "adam": lambda p: cr.optim.Adam(p, lr=1e-2),
    "adamw": lambda p: cr.optim.AdamW(p, lr=1e-2, weight_decay=0.1),
    "rmsprop": lambda p: cr.optim.RMSprop(p, lr=1e-2),
    "adagrad": lambda p: cr.optim.Adagrad(p, lr=0.1),
}


def _setup(kind, optimizer, schedule=False, clip=False):
    model = _model(kind)
    opt = OPTIMIZERS[optimizer](list(model.parameters()))
    sched = cr.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5) if schedule else None

    def step(x, y):
        opt.zero_grad()
        out = model(x)
        loss = F.cross_entropy(out, y) if kind != "sigmoid-mse" else F.mse_loss(out, y)
        loss.backward()
        if clip:
            norm = nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        opt.step()
        if sched is not None:
            sched.step()
        return (loss, norm) if clip else loss

    return model, opt, step


def _batches(kind, n=6, rows=10):
    rng = np.random.default_rng(1)
    out = []
    for _ in range(n):
        x = cr.tensor(rng.standard_normal((rows, 6)).astype(np.float32))
        y = cr.tensor(rng.uniform(0, 1, (rows, 4)).astype(np.float32)) if kind == "sigmoid-mse" \
            else cr.tensor(rng.integers(0, 4, rows))
        out.append((x, y))
    return out


@pytest.mark.parametrize("kind,optimizer,schedule,clip", [
    ("relu-ce", "adam", False, False),
    ("relu-ce", "sgd-momentum", True, True),
    ("sigmoid-mse", "sgd-momentum", False, False),
    ("sigmoid-mse", "rmsprop", True, False),
    ("dropout-gelu", "adamw", False, True),
    ("batchnorm", "adam", False, False),
    ("layernorm", "adagrad", True, False),
])
def test_training_steps_replay_as_eager(kind, optimizer, schedule, clip):
    batches = _batches(kind)
    m1, o1, eager = _setup(kind, optimizer, schedule, clip)
    m2, o2, step = _setup(kind, optimizer, schedule, clip)
    compiled = cr.compile(step)
    cr.manual_seed(5)
    expected = [eager(x, y) for x, y in batches]
    cr.manual_seed(5)
    got = [compiled(x, y) for x, y in batches]
    _assert_same(expected, got)
    for p, q in zip(m1.parameters(), m2.parameters()):
        np.testing.assert_array_equal(p.numpy(), q.numpy())
        np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())
    for name, b in m1.named_buffers():
        np.testing.assert_array_equal(b.numpy(), dict(m2.named_buffers())[name].numpy())
    assert o1.param_groups[0]["lr"] == o2.param_groups[0]["lr"]
    entry = next(iter(compiled._entries.values()))
    assert len(entry.programs) == 1  # one program, replayed on batches 3 to 6


def test_replayed_step_trains_as_eager_on_the_benchmark_network():
    rng = np.random.default_rng(2)
    x = cr.tensor(rng.standard_normal((32, 2)).astype(np.float32))
    y = cr.tensor(rng.uniform(0.1, 0.9, (32, 1)).astype(np.float32))

    def run(compile_it):
        cr.manual_seed(0)
        model = nn.Sequential(nn.Linear(2, 16), nn.Sigmoid(), nn.Linear(16, 1), nn.Sigmoid())
        opt = cr.optim.SGD(model.parameters(), lr=0.1)

        def step():
            opt.zero_grad()
            loss = F.mse_loss(model(x), y)
            loss.backward()
            opt.step()
            return loss

        step = cr.compile(step) if compile_it else step
        return [step().item() for _ in range(50)]

    eager, replay = run(False), run(True)
    assert eager == replay
    assert replay[-1] < replay[0]


# ---- guards: what makes a new trace ---------------------------------------------------------
def test_new_shapes_dtypes_and_modes_get_their_own_traces():
    model = nn.Sequential(nn.Linear(3, 5), nn.Dropout(0.5), nn.Linear(5, 2))

    def f(x):
        with cr.no_grad():  # inference: the outputs need no graph
            return model(x).sum(1)

    compiled = cr.compile(f)
    rng = np.random.default_rng(0)
    for rows in (4, 7, 4, 7, 4, 7, 4):
        for mode in ("train", "eval"):
            model.train(mode == "train")
            x = cr.tensor(rng.standard_normal((rows, 3)).astype(np.float32))
            cr.manual_seed(rows)
            want = f(x)
            cr.manual_seed(rows)
            _assert_same(want, compiled(x))
    assert len(compiled._entries) == 2  # one per shape, each with a train and an eval program
    assert all(len(e.programs) == 2 for e in compiled._entries.values())
    square = cr.compile(lambda x: (x * x).sum())
    for dtype in (np.float32, np.float64) * 3:
        x = cr.tensor(np.array([1.5, 2.5], dtype=dtype))
        out = square(x)
        assert out.dtype == dtype and out.item() == 8.5
    assert len(square._entries) == 2


def test_hashable_arguments_are_part_of_the_trace():
    compiled = cr.compile(lambda x, power: (x ** power).sum())
    x = cr.tensor([1.0, 2.0, 3.0])
    for power in (2, 3, 2, 3, 2, 3):
        assert compiled(x, power).item() == (x ** power).sum().item()
    with pytest.raises(TypeError, match="neither a Tensor, an array nor hashable"):
        compiled(x, [2])


def test_rebinding_a_parameter_is_seen_by_the_replay():
    w = cr.tensor([1.0, 2.0])
    compiled = cr.compile(lambda x: (w * x).sum())
    x = cr.tensor([3.0, 4.0])
    for _ in range(3):
        assert compiled(x).item() == 11.0
    w.data = np.array([2.0, 2.0], dtype=np.float32)  # a new array, same layout
    assert compiled(x).item() == 14.0
    w.data = np.array([1.0, 1.0, 1.0], dtype=np.float32)  # a new shape: traced again
    assert compiled(cr.tensor([1.0, 2.0, 3.0])).item() == 6.0


def test_outputs_are_detached_from_the_first_call_on():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    compiled = cr.compile(lambda: (w * w).sum())
    with pytest.warns(UserWarning, match="returned a tensor that requires grad"):
        compiled()  # differentiating its result outside would find no graph: said once
    for _ in range(3):
        out = compiled()
        assert out.grad_fn is None and not out.requires_grad and out.item() == 5.0
    with cr.no_grad():
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            cr.compile(lambda: (w * w).sum())()  # inference under no_grad: nothing to say


def test_in_place_writes_and_user_effects_are_replayed():
    calls = []

    @cr.effect
    def log(value):
        calls.append(value.item())

    buf = cr.zeros(3)

    def f(x):
        y = x * 2
        buf.add_(y)  # an in-place write into a tensor from outside
        log(y.sum())
        return y

    compiled = cr.compile(f)
    for i in range(4):
        compiled(cr.tensor([1.0, 2.0, 3.0]) * (i + 1))
    np.testing.assert_array_equal(buf.numpy(), 2 * np.array([1.0, 2.0, 3.0]) * 10)
    assert calls == [12.0, 24.0, 36.0, 48.0]


def test_a_compiled_function_inside_another_is_traced_by_the_outer_one():
    inner = cr.compile(lambda x: x.exp())
    outer = cr.compile(lambda x: inner(x).sum())
    for v in (0.0, 1.0, 2.0):
        assert outer(cr.tensor([v, v])).item() == pytest.approx(2 * np.exp(v), rel=1e-6)
    assert not inner._entries


# ---- what compile refuses, loudly ------------------------------------------------------------
def test_reading_a_traced_value_in_python_is_refused():
    compiled = cr.compile(lambda x: x * 2 if (x.sum() > 0) else x)
    with pytest.raises(cr.CompileError, match=r"bool\(\) reads the value of a traced tensor"):
        compiled(cr.tensor([1.0]))
    with pytest.raises(cr.CompileError, match=r"\.item\(\)"):
        cr.compile(lambda x: x.sum().item())(cr.tensor([1.0]))


def test_numpy_outside_ops_that_changes_between_calls_is_refused():
    def f(x):
        mask = cr.tensor(np.asarray(x._data > 0, dtype=np.float32))  # NumPy on the raw array
        return x * mask

    compiled = cr.compile(f)
    compiled(cr.tensor([1.0, -1.0]))
    with pytest.raises(cr.CompileError, match="computed outside chainrule ops"):
        compiled(cr.tensor([-1.0, 1.0]))


def test_a_numpy_view_of_an_argument_is_refused():
    compiled = cr.compile(lambda x: cr.tensor(x._data[:1]) * 2)  # a raw NumPy view
    with pytest.raises(cr.CompileError, match="NumPy view of a traced array"):
        compiled(cr.tensor([1.0, 2.0]))


def test_index_arrays_losses_and_embeddings_replay_with_each_calls_indices():
    rng = np.random.default_rng(3)
    emb = nn.Embedding(7, 3, padding_idx=0)
    head = nn.Linear(3, 5)
    weight = np.linspace(0.5, 1.5, 5).astype(np.float32)

    def f(tokens, rows, labels):
        h = emb(tokens)[rows]  # embedding lookup, then fancy indexing by an argument
        logits = head(h)
        losses = [F.cross_entropy(logits, labels), F.cross_entropy(logits, labels, weight=weight),
                  F.cross_entropy(logits, labels, label_smoothing=0.1, ignore_index=4),
                  F.nll_loss(F.log_softmax(logits, 1), labels, reduction="sum")]
        total = sum(losses)
        total.backward()
        return losses, emb.weight.grad, head.weight.grad

    compiled = cr.compile(f)
    for _ in range(5):
        tokens = cr.tensor(rng.integers(0, 7, 9))
        rows = cr.tensor(rng.permutation(9)[:6])
        labels = cr.tensor(rng.integers(0, 5, 6))
        emb.zero_grad(), head.zero_grad()
        want = f(tokens, rows, labels)
        want = [[t.numpy().copy() for t in want[0]], want[1].numpy().copy(),
                want[2].numpy().copy()]
        emb.zero_grad(), head.zero_grad()
        got = compiled(tokens, rows, labels)
        for w, g in zip(want[0] + want[1:], list(got[0]) + list(got[1:])):
            np.testing.assert_array_equal(w, g.numpy())


def test_an_op_parameter_holding_an_argument_array_is_refused():
    def f(x, idx):
        y = x.clone()
        y[idx] = 0.0  # an in-place write whose index is an argument's array
        return y

    compiled = cr.compile(f)
    with pytest.raises(cr.CompileError, match="keeps an array computed from the traced"):
        compiled(cr.tensor([1.0, 2.0, 3.0]), np.array([0, 2]))


def test_a_python_value_that_changes_is_refused():
    counter = iter(range(10))
    compiled = cr.compile(lambda x: (x * 2, next(counter)))
    compiled(cr.tensor([1.0]))
    with pytest.raises(cr.CompileError, match="returned Python value changed"):
        compiled(cr.tensor([1.0]))


def test_hooks_on_intermediate_tensors_are_refused():
    def f(x):
        y = x * 2
        y.register_hook(lambda g: g * 3)
        y.sum().backward()
        return x.grad

    with pytest.raises(cr.CompileError, match="hook or retain_grad"):
        cr.compile(f)(cr.tensor([1.0], requires_grad=True))


def test_labels_outside_the_traced_range_fail_at_replay_not_silently(device):
    # on a device the check is deferred to the next read (.item()) and names no label value
    def label(v):
        return f"{v} " if device.type == "cpu" else ""

    w = cr.tensor(np.eye(3, dtype=np.float32))
    compiled = cr.compile(lambda x, y: F.cross_entropy(x @ w, y))
    x = cr.tensor(np.ones((2, 3), dtype=np.float32))
    for _ in range(3):
        compiled(x, cr.tensor([0, 2])).item()
    with pytest.raises(ValueError, match=rf"class label {label(5)}is out of range for 3 classes"):
        compiled(x, cr.tensor([0, 5])).item()
    with pytest.raises(ValueError, match=rf"class label {label(-3)}is out of range for 3 class"):
        compiled(x, cr.tensor([-3, 1])).item()


def test_compile_rejects_a_non_callable():
    with pytest.raises(TypeError, match="expected a callable"):
        cr.compile(3)


def test_random_draws_are_fresh_at_every_replay_and_follow_the_seed():
    mu = cr.tensor([0.0, 1.0], requires_grad=True)
    log_sigma = cr.tensor([0.0, 0.5], requires_grad=True)

    def f():
        normal = cr.distributions.Normal(mu, log_sigma.exp())
        z = normal.rsample((4,))  # reparameterised: z = mu + sigma * eps
        loss = (z * z).mean() + cr.rand(2).sum() * cr.randn(2).sum() + F.dropout(z, 0.5).sum()
        gamma = cr.distributions.Gamma(log_sigma.exp() + 1, cr.tensor([1.0, 2.0]))
        beta = cr.distributions.Beta(log_sigma.exp(), mu.exp())  # implicit reparameterisation
        loss = loss + gamma.rsample((3,)).mean() + beta.rsample((2,)).sum()
        grads = cr.autograd.grad(loss, [mu, log_sigma])
        return loss, grads

    compiled = cr.compile(f)
    cr.manual_seed(1)
    want = [f() for _ in range(5)]
    cr.manual_seed(1)
    got = [compiled() for _ in range(5)]
    _assert_same(want, got)
    assert len({round(loss.item(), 6) for loss, _ in got}) == 5  # a new draw every call


def test_replayed_gradients_land_in_the_flat_buffer_unless_someone_holds_them():
    model = nn.Linear(3, 2)
    opt = cr.optim.SGD(model.parameters(), lr=0.1)
    x = cr.tensor(np.ones((4, 3), dtype=np.float32))

    def step():
        opt.zero_grad()
        model(x).square().sum().backward()
        opt.step()

    compiled = cr.compile(step)
    for _ in range(3):
        compiled()
    flat = next(iter(opt._flat.values()))
    assert all(p.grad._data is slot.view for p, slot in zip(model.parameters(), flat.slots))
    held = model.weight.grad
    kept = held.numpy().copy()
    compiled()  # the weights moved, so the new gradient differs from the held one
    np.testing.assert_array_equal(held.numpy(), kept)  # as eager and PyTorch: not overwritten
    assert not np.array_equal(model.weight.grad.numpy(), kept)


def test_replayed_weight_gradients_are_computed_into_the_flat_buffer_as_eager():
    def make():
        cr.manual_seed(0)
        model = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 3))
        return model, cr.optim.SGD(model.parameters(), lr=0.1)

    x = cr.tensor(np.random.default_rng(0).standard_normal((6, 5)).astype(np.float32))
    y = np.array([0, 1, 2, 0, 1, 2])

    def stepper(model, opt):
        def step():
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss
        return step

    (m1, o1), (m2, o2) = make(), make()
    eager, compiled = stepper(m1, o1), cr.compile(stepper(m2, o2))
    for _ in range(4):
        eager(), compiled()
    # the two weights' g^T x products and the two biases' batch sums
    assert compiled.source.count("into T") == 4
    flat = next(iter(o2._flat.values()))
    assert all(p.grad._data is s.view for p, s in zip(m2.parameters(), flat.slots))
    for p, q in zip(m1.parameters(), m2.parameters()):
        np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())
        np.testing.assert_array_equal(p.numpy(), q.numpy())
    held, kept = m2[0].weight.grad, m2[0].weight.grad.numpy().copy()  # memory not free now
    seen = []
    m1[2].weight.register_hook(lambda g: seen.append(("eager", g.numpy().copy())))
    m2[2].weight.register_hook(lambda g: seen.append(("compiled", g.numpy().copy())))
    eager(), compiled()  # the held gradient is kept, the hooked weight's hook runs
    np.testing.assert_array_equal(held.numpy(), kept)
    assert [k for k, _ in seen] == ["eager", "compiled"]
    np.testing.assert_array_equal(seen[0][1], seen[1][1])
    for p, q in zip(m1.parameters(), m2.parameters()):
        np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())
        np.testing.assert_array_equal(p.numpy(), q.numpy())


def test_ops_of_constants_are_computed_once_when_planning_but_random_draws_are_not():
    c = np.linspace(-1.0, 1.0, 6, dtype=np.float32).reshape(2, 3)

    def f(x):
        k = cr.tensor(c).exp().sum(0) / 3  # constants only: folded
        noise = cr.nn.functional.dropout(cr.tensor(c), 0.5)  # random: drawn at every replay
        return x * k + noise.sum(0)

    compiled = cr.compile(f)
    rng = np.random.default_rng(0)
    xs = [cr.tensor(rng.standard_normal(3).astype(np.float32)) for _ in range(5)]
    cr.manual_seed(3)
    want = [f(x) for x in xs]
    cr.manual_seed(3)
    got = [compiled(x) for x in xs]
    for w, g in zip(want, got):
        np.testing.assert_array_equal(w.numpy(), g.numpy())
    assert compiled.source.count(", folded") == 3  # exp, sum, divide
    mask = [line for line in compiled.source.splitlines() if "DropoutMask" in line]
    assert len(mask) == 1 and "folded" not in mask[0]
    assert len({g.numpy().tobytes() for g in got}) == 5


def test_max_traces_must_be_positive():
    with pytest.raises(ValueError, match="max_traces"):
        cr.compile(lambda: None, max_traces=0)


def test_leaves_passed_as_arguments_get_their_gradients_at_replay():
    w = cr.tensor([1.0, -2.0], requires_grad=True)

    def f(x):
        ((x * w).sin() ** 2).sum().backward()
        return x.grad

    compiled = cr.compile(f)
    rng = np.random.default_rng(0)
    for _ in range(4):
        data = rng.standard_normal(2).astype(np.float32)
        x1, x2 = cr.tensor(data, requires_grad=True), cr.tensor(data, requires_grad=True)
        want, got = f(x1), compiled(x2)
        np.testing.assert_array_equal(want.numpy(), got.numpy())
        np.testing.assert_array_equal(x2.grad.numpy(), x1.grad.numpy())  # on the new argument


def test_a_leaf_created_inside_is_refused():
    def f(x):
        w = cr.tensor([2.0], requires_grad=True)
        (w * x).sum().backward()
        return w.grad

    compiled = cr.compile(f)
    compiled(cr.tensor([1.0]))
    with pytest.raises(cr.CompileError, match="a gradient went to a different leaf"):
        compiled(cr.tensor([1.0]))


def test_batch_norm_cumulative_average_replays_its_running_statistics():
    rng = np.random.default_rng(0)
    eager, traced = nn.BatchNorm1d(3, momentum=None), nn.BatchNorm1d(3, momentum=None)
    compiled = cr.compile(lambda x: traced(x).sum())
    for _ in range(5):  # the factor 1/n changes every call: an op on num_batches_tracked
        x = cr.tensor(rng.standard_normal((4, 3)).astype(np.float32))
        with cr.no_grad():
            assert eager(x).sum().item() == compiled(x).item()
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        np.testing.assert_array_equal(getattr(eager, name).numpy(),
                                      getattr(traced, name).numpy())
