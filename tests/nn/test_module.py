"""Module: registration, traversal, modes, state_dict round trips and their errors, repr."""

import copy
import pickle

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(2, 3)
        self.act = nn.Tanh()
        self.block = nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3))
        self.scale = nn.Parameter(cr.ones(1))
        self.register_buffer("steps", np.zeros((), dtype=np.int64))
        self.register_buffer("cache", cr.zeros(2), persistent=False)
        self.note = "not registered"

    def forward(self, x):
        return self.block(self.act(self.fc1(x))) * self.scale


def test_registration_order_and_names():
    net = Net()
    assert [n for n, _ in net.named_parameters()] == [
        "scale", "fc1.weight", "fc1.bias", "block.0.weight", "block.0.bias", "block.1.weight",
        "block.1.bias"]
    assert [n for n, _ in net.named_children()] == ["fc1", "act", "block"]
    assert [n for n, _ in net.named_modules()] == ["", "fc1", "act", "block", "block.0",
                                                   "block.1"]
    assert [n for n, _ in net.named_buffers()] == ["steps", "cache", "block.1.running_mean",
                                                   "block.1.running_var",
                                                   "block.1.num_batches_tracked"]
    assert len(list(net.parameters(recurse=False))) == 1
    assert net.note == "not registered" and "note" not in net._parameters
    assert net.get_parameter("block.0.bias") is net.block[0].bias
    assert net.get_submodule("block.1") is net.block[1]


def test_shared_parameters_are_listed_once():
    shared = nn.Linear(2, 2)
    seq = nn.Sequential(shared, nn.ReLU(), shared)
    assert len(list(seq.parameters())) == 2
    assert len(list(seq.modules())) == 3


def test_reassign_and_delete():
    net = Net()
    net.fc1 = nn.Linear(2, 3, bias=False)
    assert net.fc1.bias is None and "fc1.bias" not in net.state_dict()
    net.scale = None
    assert net.scale is None and "scale" not in dict(net.named_parameters())
    with pytest.raises(TypeError, match="cannot assign ndarray as parameter 'scale'"):
        net.scale = np.ones(1)
    del net.act
    with pytest.raises(AttributeError, match="'Net' object has no attribute 'act'"):
        net.act  # noqa: B018


def test_train_eval_apply_zero_grad():
    net = Net()
    assert net.training and net.block[1].training
    assert net.eval() is net and not net.block[1].training
    net.train()
    assert net.block[0].training
    seen = []
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "Tanh", "Linear", "BatchNorm1d", "Sequential", "Net"]
    net(cr.randn(4, 2)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all((p.grad.numpy() == 0).all() for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_state_dict_contents_and_round_trip():
    cr.manual_seed(0)
    a = Net()
    cr.manual_seed(1)
    b = Net()
    sd = a.state_dict()
    assert list(sd)[:3] == ["scale", "steps", "fc1.weight"]
    assert "cache" not in sd and "block.1.running_var" in sd
    assert all(not t.requires_grad for t in sd.values())
    assert sd["fc1.weight"].dtype == np.float32
    a(cr.randn(5, 2))  # moves the running statistics
    weight_b = b.fc1.weight
    result = b.load_state_dict({k: v.numpy() for k, v in a.state_dict().items()})
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert b.fc1.weight is weight_b  # loaded in place
    for (name, x), y in zip(a.state_dict().items(), b.state_dict().values()):
        np.testing.assert_array_equal(x.numpy(), y.numpy(), err_msg=name)
    x = cr.randn(3, 2)
    a.eval(), b.eval()
    np.testing.assert_array_equal(a(x).numpy(), b(x).numpy())


def test_load_state_dict_missing_key_names_key_and_shape():
    net = nn.Linear(3, 2)
    sd = net.state_dict()
    del sd["bias"]
    with pytest.raises(ValueError, match=r"missing key 'bias' \(the model expects shape \(2,\)\)"):
        net.load_state_dict(sd)
    assert net.load_state_dict(sd, strict=False).missing_keys == ["bias"]


def test_load_state_dict_unexpected_key_names_key_and_shape():
    net = nn.Linear(3, 2)
    sd = net.state_dict()
    sd["extra.weight"] = np.zeros((4, 4))
    with pytest.raises(ValueError, match=r"unexpected key 'extra.weight' \(shape \(4, 4\)\)"):
        net.load_state_dict(sd)
    assert net.load_state_dict(sd, strict=False).unexpected_keys == ["extra.weight"]


def test_load_state_dict_shape_mismatch_names_key_and_both_shapes():
    net = nn.Sequential(nn.Linear(3, 2))
    sd = net.state_dict()
    sd["0.weight"] = np.zeros((2, 4))
    before = net[0].weight.numpy().copy()
    with pytest.raises(ValueError, match=r"size mismatch for '0.weight': the checkpoint has "
                                         r"shape \(2, 4\), the model has shape \(2, 3\)"):
        net.load_state_dict(sd, strict=False)  # shapes are checked even when not strict
    np.testing.assert_array_equal(net[0].weight.numpy(), before)  # nothing half-loaded


def test_repr_is_nested_like_pytorch():
    net = nn.Sequential(nn.Linear(2, 4), nn.Sigmoid(), nn.Sequential(nn.Dropout(0.1)))
    assert repr(net) == (
        "Sequential(\n"
        "  (0): Linear(in_features=2, out_features=4, bias=True)\n"
        "  (1): Sigmoid()\n"
        "  (2): Sequential(\n"
        "    (0): Dropout(p=0.1, inplace=False)\n"
        "  )\n"
        ")")
    assert repr(nn.Parameter(cr.zeros(1))).startswith("Parameter containing:\ntensor(")


def test_double_keeps_parameter_identity():
    net = Net()
    w = net.fc1.weight
    net.double()
    assert net.fc1.weight is w and w.dtype == np.float64
    assert net.block[1].running_mean.dtype == np.float64
    assert net.steps.dtype == np.int64
    assert net(cr.randn(3, 2, dtype=np.float64)).dtype == np.float64


def test_containers():
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(layers) == 3 and len(list(layers.parameters())) == 6
    heads = nn.ModuleDict({"a": nn.Linear(2, 1)})
    heads["b"] = nn.Linear(2, 3)
    assert list(heads) == ["a", "b"] and len(list(heads.parameters())) == 4
    seq = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1))
    assert isinstance(seq[-1], nn.Linear) and len(seq[:2]) == 2
    with pytest.raises(IndexError, match="index 3 is out of range for 3 modules"):
        seq[3]  # noqa: B018


def test_forward_hooks():
    m = nn.Linear(2, 2)
    outputs = []
    handle = m.register_forward_hook(lambda mod, args, out: outputs.append(out.shape))
    m(cr.zeros(5, 2))
    handle.remove()
    m(cr.zeros(5, 2))
    assert outputs == [(5, 2)]


def test_deepcopy_and_pickle():
    net = Net()
    clone = copy.deepcopy(net)
    assert clone.fc1.weight is not net.fc1.weight
    np.testing.assert_array_equal(clone.fc1.weight.numpy(), net.fc1.weight.numpy())
    restored = pickle.loads(pickle.dumps(net))
    assert isinstance(restored.fc1.weight, nn.Parameter)
    np.testing.assert_array_equal(restored.block[0].bias.numpy(), net.block[0].bias.numpy())


def test_freeze_with_requires_grad():
    net = nn.Linear(2, 2).requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())
