"""DistributedDataParallel's bucket logic in a world of one process (grad_weight != 1 arms the
hooks, so every path but the MPI call itself runs here)."""

import gc

import numpy as np
import pytest

import chainrule as cr
import chainrule.distributed as dist
import chainrule.nn.functional as F

rng = np.random.default_rng(0)
X = cr.tensor(rng.standard_normal((8, 4)).astype(np.float32))
Y = cr.tensor(rng.integers(0, 2, 8))


def mlp(seed=0):
    cr.manual_seed(seed)
    return cr.nn.Sequential(cr.nn.Linear(4, 8), cr.nn.Tanh(), cr.nn.Linear(8, 2))


def grads(model):
    return [None if p.grad is None else p.grad.numpy().copy() for p in model.parameters()]


def reference_grads(x=X, y=Y):
    model = mlp()
    F.cross_entropy(model(x), y).backward()
    return grads(model)


class TwoHeads(cr.nn.Module):
    """(head a, head b) of a shared trunk, and a layer that forward never uses."""

    def __init__(self):
        super().__init__()
        self.trunk, self.a, self.b = cr.nn.Linear(4, 8), cr.nn.Linear(8, 2), cr.nn.Linear(8, 1)
        self.unused = cr.nn.Linear(3, 3)

    def forward(self, x):
        h = self.trunk(x).tanh()
        return self.a(h), self.b(h)


def test_buckets_hold_parameters_in_reverse_order_up_to_the_cap(world_of_one):
    model = mlp()  # parameters: W1 (128 B), b1 (32 B), W2 (64 B), b2 (8 B)
    ddp = dist.DistributedDataParallel(model, bucket_cap_mb=100 / 2 ** 20)
    assert ddp._reducer.buckets == [[3, 2], [1], [0]]
    assert "buckets=3" in repr(ddp)
    ddp.grad_weight = 0.5
    F.cross_entropy(ddp(X), Y).backward()  # gradients arrive W2, b2, W1, b1: re-cut so
    assert ddp._reducer.buckets == [[2, 3], [0], [1]]
    for g, ref in zip(grads(model), reference_grads()):
        np.testing.assert_array_equal(g, 0.5 * ref)
    model[2].double()  # another dtype: never in one bucket with float32
    ddp = dist.DistributedDataParallel(model)
    assert ddp._reducer.buckets == [[3, 2], [1, 0]]


def test_grad_weight_scales_the_gradient_handed_to_the_optimizer(world_of_one):
    model = mlp()
    ddp = dist.DistributedDataParallel(model, bucket_cap_mb=100 / 2 ** 20)
    opt = cr.optim.SGD(ddp.parameters(), lr=1.0)
    ddp.grad_weight = 0.25
    F.cross_entropy(ddp(X), Y).backward()
    for g, ref in zip(grads(model), reference_grads()):
        np.testing.assert_array_equal(g, 0.25 * ref)  # a power of two: exact
    before = [p.numpy().copy() for p in model.parameters()]
    opt.step()
    for p, b, ref in zip(model.parameters(), before, reference_grads()):
        np.testing.assert_allclose(p.numpy(), b - 0.25 * ref, rtol=1e-6, atol=1e-7)


def _train_steps(compiled):
    model = mlp()
    ddp = dist.DistributedDataParallel(model, bucket_cap_mb=100 / 2 ** 20)
    ddp.grad_weight = 0.5
    opt = cr.optim.Adam(ddp.parameters(), lr=0.01)

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(ddp(x), y)
        loss.backward()
        opt.step()
        return loss

    step = cr.compile(step) if compiled else step
    for _ in range(5):
        step(X, Y)
    return [p.numpy().copy() for p in model.parameters()]


def test_a_compiled_step_reduces_exactly_like_the_eager_step(world_of_one):
    final = [_train_steps(False), _train_steps(True)]
    for eager, replayed in zip(*final):
        np.testing.assert_array_equal(eager, replayed)


def test_no_sync_accumulates_locally_and_the_next_backward_reduces_the_sum(world_of_one):
    model = mlp()
    ddp = dist.DistributedDataParallel(model)
    ddp.grad_weight = 0.5
    with ddp.no_sync():
        F.cross_entropy(ddp(X[:4]), Y[:4]).backward()
    first = grads(model)
    for g, ref in zip(first, reference_grads(X[:4], Y[:4])):
        np.testing.assert_array_equal(g, ref)  # not scaled: nothing was reduced
    F.cross_entropy(ddp(X[4:]), Y[4:]).backward()
    second = reference_grads(X[4:], Y[4:])
    for g, a, b in zip(grads(model), first, second):
        np.testing.assert_allclose(g, 0.5 * (a + b), rtol=1e-6)


def test_unused_parameters_keep_no_gradient_and_an_ignored_head_needs_synchronize(world_of_one):
    model = TwoHeads()
    ddp = dist.DistributedDataParallel(model)
    ddp.grad_weight = 0.5
    a, _ = ddp(X)
    F.cross_entropy(a, Y).backward()  # head b's parameters wait for a gradient that never comes
    assert model.trunk.weight.grad is not None and model.b.weight.grad is None
    with pytest.raises(RuntimeError, match=r"the previous step's gradient reduction did not "
                                           r"finish: .*\['b.weight', 'b.bias'\].*call "
                                           r"model.synchronize\(\) after backward"):
        ddp(X)
    a, _ = ddp(X)
    F.cross_entropy(a, Y).backward()
    ddp.synchronize()
    assert np.all(model.b.weight.grad.numpy() == 0)  # reduced like every used parameter
    assert model.unused.weight.grad is None  # no use in the graph: no gradient, as in 1 process


@pytest.mark.parametrize("penalty_first", [False, True])
def test_a_weight_penalty_outside_the_module_is_reduced_with_the_rest(world_of_one,
                                                                      penalty_first):
    def loss_of(model, out):
        penalty = (model[2].weight ** 2).sum()
        return penalty + F.cross_entropy(out, Y) if penalty_first else \
            F.cross_entropy(out, Y) + penalty

    model, plain = mlp(), mlp()
    ddp = dist.DistributedDataParallel(model)
    ddp.grad_weight = 0.5
    loss_of(model, ddp(X)).backward()
    loss_of(plain, plain(X)).backward()  # the engine sums each weight's uses, as PyTorch
    for p, q in zip(model.parameters(), plain.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), 0.5 * q.grad.numpy(), rtol=1e-6)


def test_backward_twice_after_one_forward_is_refused(world_of_one):
    ddp = dist.DistributedDataParallel(mlp())
    ddp.grad_weight = 0.5
    loss = F.cross_entropy(ddp(X), Y)
    loss.backward(retain_graph=True)
    with pytest.raises(RuntimeError, match="received a gradient after this step's reduction "
                                           "had finished"):
        loss.backward()


def test_a_forward_whose_output_is_dropped_does_not_block_the_next_step(world_of_one):
    model = mlp()
    ddp = dist.DistributedDataParallel(model)
    ddp.grad_weight = 0.5
    ddp(X)  # e.g. training-mode predictions, never differentiated
    F.cross_entropy(ddp(X), Y).backward()
    for g, ref in zip(grads(model), reference_grads()):
        np.testing.assert_array_equal(g, 0.5 * ref)


def test_reduce_without_backward_contributes_the_weighted_gradient(world_of_one):
    model = mlp()
    ddp = dist.DistributedDataParallel(model)
    F.cross_entropy(ddp(X), Y).backward()
    ddp.grad_weight = 0.0  # an empty slice of the global batch
    ddp.reduce_without_backward()
    assert all(np.all(g == 0) for g in grads(model))


def test_create_graph_is_refused(world_of_one):
    ddp = dist.DistributedDataParallel(mlp())
    ddp.grad_weight = 0.5
    with pytest.raises(RuntimeError, match=r"backward\(create_graph=True\) is not supported"):
        F.cross_entropy(ddp(X), Y).backward(create_graph=True)


def test_the_hooks_go_away_with_the_wrapper(world_of_one):
    model = mlp()
    ddp = dist.DistributedDataParallel(model)
    assert all(len(p._extra["hooks"]) == 1 for p in model.parameters())
    del ddp
    gc.collect()
    assert all(len(p._extra["hooks"]) == 0 for p in model.parameters())


def test_state_dict_keys_carry_the_module_prefix_as_in_pytorch(world_of_one):
    ddp = dist.DistributedDataParallel(mlp())
    assert list(ddp.state_dict())[:2] == ["module.0.weight", "module.0.bias"]


@pytest.mark.parametrize("kwargs, error, message", [
    ({"module": "net"}, TypeError, "module must be a cr.nn.Module; got str"),
    ({"bucket_cap_mb": 0}, ValueError, "bucket_cap_mb must be a positive number; got 0"),
    ({"device_ids": [0]}, ValueError, "device_ids and output_device must be None"),
])
def test_constructor_errors(world_of_one, kwargs, error, message):
    kwargs = {"module": mlp(), **kwargs}
    with pytest.raises(error, match=message):
        dist.DistributedDataParallel(**kwargs)


def test_wrapping_needs_a_process_group():
    with pytest.raises(RuntimeError, match="DistributedDataParallel: the default process group "
                                           "is not initialized"):
        dist.DistributedDataParallel(mlp())
