"""Convolutional layers: PyTorch's state_dict names, shapes and initialisation, a torch CNN's
weights loaded by name giving equal outputs, clear errors, channel dropout, group norm, and a
compiled CNN training step replaying the eager one bit for bit."""

import math

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn


def _cnn(lib):
    return lib.nn.Sequential(
        lib.nn.Conv2d(1, 4, 3, padding=1), lib.nn.BatchNorm2d(4), lib.nn.ReLU(),
        lib.nn.MaxPool2d(2), lib.nn.Conv2d(4, 6, (3, 2), stride=(1, 2), groups=2),
        lib.nn.GroupNorm(2, 6), lib.nn.ReLU(), lib.nn.AvgPool2d(2, ceil_mode=True),
        lib.nn.Dropout2d(0.3), lib.nn.Flatten(), lib.nn.Linear(6 * 1 * 1, 5))


def test_a_torch_cnn_state_dict_loads_by_name_and_gives_equal_outputs():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    theirs = _cnn(torch)
    ours = _cnn(cr)
    state = {k: v.detach().numpy() for k, v in theirs.state_dict().items()}
    assert list(ours.state_dict()) == list(state)
    assert all(ours.state_dict()[k].shape == v.shape for k, v in state.items())
    ours.load_state_dict(state)
    x = np.random.default_rng(0).standard_normal((4, 1, 8, 8)).astype(np.float32)
    # eval: running statistics; train (dropout off in both): batch statistics, updated buffers
    for train in (False, True):
        theirs.train(train)
        ours.train(train)
        theirs[8].p = ours[8].p = 0.0
        xt = torch.tensor(x, requires_grad=True)
        xo = cr.tensor(x, requires_grad=True)
        yt, yo = theirs(xt), ours(xo)
        np.testing.assert_allclose(yo.numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-5)
        w = np.random.default_rng(1).standard_normal(yt.shape).astype(np.float32)
        (yt * torch.tensor(w)).sum().backward()
        (yo * cr.tensor(w)).sum().backward()
        np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-5)
        for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
            np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-4, atol=1e-5,
                                       err_msg=name)
    for k, v in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[k].numpy(), v.numpy(), rtol=1e-5,
                                   atol=1e-6, err_msg=k)


def test_transposed_and_1d_layers_load_torch_weights():
    torch = pytest.importorskip("torch")
    torch.manual_seed(1)

    def make(lib):
        return lib.nn.Sequential(
            lib.nn.Conv1d(2, 4, 3, padding="same", padding_mode="reflect"), lib.nn.Tanh(),
            lib.nn.ConvTranspose1d(4, 3, 3, stride=2, padding=1, output_padding=1),
            lib.nn.MaxPool1d(2), lib.nn.AdaptiveAvgPool1d(3), lib.nn.Unflatten(2, (1, 3)),
            lib.nn.ConvTranspose2d(3, 2, (2, 3), stride=2, groups=1), lib.nn.Upsample(
                scale_factor=2, mode="bilinear"), lib.nn.AdaptiveMaxPool2d((2, 3)))

    theirs, ours = make(torch), make(cr)
    state = {k: v.detach().numpy() for k, v in theirs.state_dict().items()}
    assert {k: v.shape for k, v in ours.state_dict().items()} == \
        {k: v.shape for k, v in state.items()}
    ours.load_state_dict(state)
    x = np.random.default_rng(2).standard_normal((2, 2, 7)).astype(np.float32)
    np.testing.assert_allclose(ours(cr.tensor(x)).numpy(),
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("layer,weight,fan_in", [
    (lambda: nn.Conv2d(6, 8, (3, 5), groups=2), (8, 3, 3, 5), 45),
    (lambda: nn.Conv1d(4, 10, 7), (10, 4, 7), 28),
    (lambda: nn.ConvTranspose2d(6, 4, 3, groups=2), (6, 2, 3, 3), 18),
])
def test_initialisation_is_torchs_kaiming_uniform(layer, weight, fan_in):
    cr.manual_seed(0)
    m = layer()
    assert m.weight.shape == weight and m.bias.shape == (m.out_channels,)
    assert m.weight.dtype == np.float32
    bound = 1 / math.sqrt(fan_in)  # kaiming_uniform(a=sqrt 5): sqrt(6 / (6 fan_in))
    for p in (m.weight, m.bias):
        values = p.numpy()
        assert np.abs(values).max() <= bound and np.abs(values).max() > 0.8 * bound


def test_errors_name_the_op_and_both_shapes():
    x = cr.randn(2, 3, 8, 8)
    with pytest.raises(ValueError, match=r"conv2d: expected input with 4 channels .*\(8, 4, 3, 3\)"
                       r".*got 3 channels in input of shape \(2, 3, 8, 8\)"):
        nn.Conv2d(4, 8, 3)(x)
    with pytest.raises(ValueError, match=r"conv2d: input of shape \(2, 3, 8, 8\) .* smaller "
                       r"than the kernel \(9, 9\)"):
        F.conv2d(x, cr.randn(2, 3, 9, 9))
    with pytest.raises(ValueError, match=r"conv2d: input of shape \(1, 1, 4, 4\).*padded \(6, 6\)"
                       r".*kernel \(4, 4\) \(dilated: \(7, 7\)\)"):
        F.conv2d(cr.randn(1, 1, 4, 4), cr.randn(1, 1, 4, 4), padding=1, dilation=2)
    with pytest.raises(ValueError, match="Conv2d: groups=4 must divide in_channels=6"):
        nn.Conv2d(6, 8, 3, groups=4)
    with pytest.raises(ValueError, match="conv2d: groups=3 must divide out_channels 8"):
        F.conv2d(cr.randn(1, 6, 5, 5), cr.randn(8, 2, 3, 3), groups=3)
    with pytest.raises(ValueError, match="conv2d: padding must be an int, a tuple of 2 ints, "
                       "'same' or 'valid'; got 'full'"):
        F.conv2d(x, cr.randn(2, 3, 3, 3), padding="full")
    with pytest.raises(ValueError, match="Conv1d: padding must be .*same or valid; got 'full'"):
        nn.Conv1d(3, 3, 3, padding="full")
    with pytest.raises(ValueError, match="padding='same' is not supported for strided"):
        nn.Conv2d(3, 3, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match=r"conv1d: expected a 2-D \(unbatched\) or 3-D"):
        nn.Conv1d(3, 3, 3)(x)
    with pytest.raises(ValueError, match=r"conv_transpose2d: expected input with 4 channels"):
        nn.ConvTranspose2d(4, 2, 3)(x)
    with pytest.raises(ValueError, match="output_padding must be smaller than either stride"):
        F.conv_transpose2d(x, cr.randn(3, 2, 3, 3), output_padding=1)
    with pytest.raises(ValueError, match=r"max_pool2d: input size 2 \(padded 2\) is smaller"):
        F.max_pool2d(cr.randn(1, 1, 2, 2), 3)
    with pytest.raises(ValueError, match="max_pool2d: padding 2 must be at most half"):
        F.max_pool2d(x, 3, padding=2)
    with pytest.raises(ValueError, match=r"BatchNorm2d: expected input of shape \(N, 4, H, W\)"):
        nn.BatchNorm2d(4)(x)
    with pytest.raises(ValueError, match="GroupNorm: num_groups=4 must divide num_channels=6"):
        nn.GroupNorm(4, 6)
    with pytest.raises(ValueError, match="pad: mode must be"):
        F.pad(x, (1, 1), mode="mirror")
    with pytest.raises(ValueError, match=r"pad: reflect padding \(8, 0\) of dimension 3"):
        F.pad(x, (8, 0), mode="reflect")
    with pytest.raises(TypeError, match="conv2d: input must be a floating tensor"):
        F.conv2d(cr.tensor(np.ones((1, 1, 3, 3), dtype=np.int64)), cr.randn(1, 1, 2, 2))


def test_unbatched_inputs_as_torch():
    cr.manual_seed(0)
    conv = nn.Conv2d(3, 2, 3)
    x = cr.randn(3, 6, 6)
    np.testing.assert_allclose(conv(x).numpy(), conv(x.unsqueeze(0))[0].numpy(), rtol=1e-6)
    assert F.max_pool2d(x, 2).shape == (3, 3, 3)


def test_dropout2d_zeroes_whole_channels_and_keeps_the_mean():
    cr.manual_seed(0)
    x = cr.ones(200, 8, 3, 4)
    y = F.dropout2d(x, 0.25).numpy()
    per_channel = y.reshape(200, 8, -1)
    assert np.all((per_channel == 0).all(2) | (per_channel == 1 / 0.75).all(2))
    assert abs((per_channel[..., 0] == 0).mean() - 0.25) < 0.03
    layer = nn.Dropout2d(0.25).eval()
    assert layer(x) is x or np.array_equal(layer(x).numpy(), x.numpy())


def test_group_norm_against_numpy_and_second_order():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 6, 3, 2))
    w, b = rng.standard_normal(6), rng.standard_normal(6)
    g = x.reshape(2, 3, -1)
    ref = ((g - g.mean(2, keepdims=True)) / np.sqrt(g.var(2, keepdims=True) + 1e-5)).reshape(
        x.shape) * w.reshape(1, 6, 1, 1) + b.reshape(1, 6, 1, 1)
    got = F.group_norm(cr.tensor(x), 3, cr.tensor(w), cr.tensor(b))
    np.testing.assert_allclose(got.numpy(), ref, rtol=1e-10)
    xs = [cr.tensor(a[:1] if a.ndim == 4 else a, requires_grad=True) for a in (x, w, b)]
    assert cr.gradgradcheck(lambda x, w, b: F.group_norm(x, 3, w, b).sin(), xs)


def test_double_backward_through_a_cnn_gradient_penalty():
    """A WGAN-GP-style penalty ||d critic / dx||^2, differentiated in the first conv's weight
    (second order through conv, avg pool and a strided conv), against finite differences."""
    cr.manual_seed(0)
    cr.set_default_dtype(np.float64)
    try:
        critic = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.Tanh(), nn.AvgPool2d(2),
                               nn.Conv2d(2, 2, 2, stride=2), nn.Softplus(), nn.Flatten(),
                               nn.Linear(2, 1))
    finally:
        cr.set_default_dtype(np.float32)
    x = cr.tensor(np.linspace(-1, 1, 16).reshape(1, 1, 4, 4), requires_grad=True)

    def penalty(w0):
        h = F.conv2d(x, w0, critic[0].bias, padding=1)
        for layer in list(critic)[1:]:
            h = layer(h)
        (gx,) = cr.autograd.grad(h.sum(), [x], create_graph=True)
        return (gx * gx).sum()

    w0 = critic[0].weight.detach().requires_grad_(True)
    penalty(w0).backward()
    assert np.abs(w0.grad.numpy()).sum() > 0
    assert cr.gradcheck(penalty, [w0])


def test_a_compiled_cnn_training_step_replays_the_eager_one_bit_for_bit():
    def setup():
        cr.manual_seed(0)
        model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                              nn.MaxPool2d(2), nn.Dropout2d(0.2), nn.Conv2d(4, 4, 3), nn.ReLU(),
                              nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))
        opt = cr.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

        def step(x, y):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss

        return model, step

    rng = np.random.default_rng(0)
    batches = [(cr.tensor(rng.standard_normal((5, 1, 8, 8)).astype(np.float32)),
                cr.tensor(rng.integers(0, 3, 5))) for _ in range(5)]
    m1, eager = setup()
    m2, step = setup()
    compiled = cr.compile(step)
    cr.manual_seed(3)
    expected = [eager(x, y).item() for x, y in batches]
    cr.manual_seed(3)
    got = [compiled(x, y).item() for x, y in batches]
    assert expected == got
    for p, q in zip(m1.state_dict().values(), m2.state_dict().values()):
        np.testing.assert_array_equal(p.numpy(), q.numpy())


def test_a_cnn_with_batchnorm2d_round_trips_through_a_checkpoint(tmp_path):
    pytest.importorskip("safetensors")

    def make():
        return nn.Sequential(nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3), nn.ReLU(),
                             nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, 2))

    cr.manual_seed(0)
    model = make()
    model(cr.randn(4, 1, 6, 6))  # a training step's statistics: running stats, 1 batch seen
    cr.train.save(model.state_dict(), tmp_path / "cnn.safetensors")
    other = make()
    other.load_state_dict(cr.train.load(tmp_path / "cnn.safetensors"))
    assert other[1].num_batches_tracked.shape == () and other[1].num_batches_tracked.item() == 1
    x = cr.randn(2, 1, 6, 6)
    np.testing.assert_array_equal(model.eval()(x).numpy(), other.eval()(x).numpy())


def test_dropout2d_of_a_3d_input_drops_channels_of_n_c_l_maps_as_torch():
    cr.manual_seed(0)
    y = F.dropout2d(cr.ones(50, 4, 6), 0.5).numpy()
    assert np.all((y == 0).all(2) | (y == 2).all(2)) and 0 < (y[..., 0] == 0).mean() < 1


def test_conv_transpose_output_size_picks_the_output_padding_as_torch():
    cr.manual_seed(0)
    up = nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1)
    x = cr.randn(1, 2, 4, 5)
    assert up(x).shape == (1, 3, 7, 9)
    assert up(x, output_size=(8, 10)).shape == (1, 3, 8, 10)
    assert up(x, output_size=[1, 3, 8, 9]).shape == (1, 3, 8, 9)
    with pytest.raises(ValueError, match=r"ConvTranspose2d: output_size \(9, 9\) is not reachable"):
        up(x, output_size=(9, 9))
    torch = pytest.importorskip("torch")
    theirs = torch.nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1)
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in up.state_dict().items()})
    np.testing.assert_allclose(up(x, output_size=(8, 10)).numpy(),
                               theirs(torch.tensor(x.numpy()), output_size=(8, 10)).detach()
                               .numpy(), rtol=1e-5, atol=1e-6)
