"""Recurrent layers and nn.utils.rnn: torch's constructors, names, init and shapes; packed
sequences (a finished sequence's state stays put, h_n is each one's last valid step); second
derivatives through a whole layer; dropout between layers; cr.compile replaying a training
step bit for bit; and clear errors."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn
from chainrule.nn.utils import rnn as R

KINDS = ["RNN", "LSTM", "GRU"]


def _x(*shape, seed=0):
    return cr.tensor(np.random.default_rng(seed).standard_normal(shape))


# ---- construction ----------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_parameter_names_shapes_and_init_are_torchs(kind):
    cr.manual_seed(0)
    m = getattr(nn, kind)(5, 8, num_layers=2, bidirectional=True)
    gates = {"RNN": 1, "LSTM": 4, "GRU": 3}[kind] * 8
    shapes = {k: tuple(v.shape) for k, v in m.state_dict().items()}
    assert list(shapes)[:4] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
    assert shapes["weight_ih_l0"] == (gates, 5) and shapes["weight_hh_l0_reverse"] == (gates, 8)
    assert shapes["weight_ih_l1"] == (gates, 16) and shapes["bias_hh_l1_reverse"] == (gates,)
    assert len(shapes) == 16
    values = np.concatenate([p.numpy().ravel() for p in m.parameters()])
    bound = 1 / np.sqrt(8)
    assert values.dtype == np.float32 and np.abs(values).max() <= bound
    assert np.abs(values).max() > 0.9 * bound  # uniform over the whole interval
    assert abs(values.mean()) < 0.05 and abs(values.var() - bound ** 2 / 3) < 0.01
    no_bias = getattr(nn, kind)(5, 8, bias=False)
    assert list(no_bias.state_dict()) == ["weight_ih_l0", "weight_hh_l0"]


@pytest.mark.parametrize("kind", KINDS)
def test_torch_state_dict_loads_by_name_and_gives_torchs_outputs(kind):
    torch = pytest.importorskip("torch")
    tm = getattr(torch.nn, kind)(3, 4, num_layers=2, bidirectional=True, batch_first=True)
    cm = getattr(nn, kind)(3, 4, num_layers=2, bidirectional=True, batch_first=True)
    cm.load_state_dict(tm.state_dict())  # torch's own tensors, by name
    x = np.random.default_rng(0).standard_normal((2, 5, 3)).astype(np.float32)
    ours, theirs = cm(cr.tensor(x)), tm(torch.tensor(x))
    np.testing.assert_allclose(ours[0].numpy(), theirs[0].detach().numpy(), atol=1e-6)


@pytest.mark.parametrize("cell,torch_name", [("RNNCell", "RNNCell"), ("LSTMCell", "LSTMCell"),
                                             ("GRUCell", "GRUCell")])
def test_cells_match_torchs_modules(cell, torch_name):
    torch = pytest.importorskip("torch")
    tm = getattr(torch.nn, torch_name)(3, 4).double()
    cm = getattr(nn, cell)(3, 4).double()
    assert list(cm.state_dict()) == list(tm.state_dict())
    cm.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})
    rng = np.random.default_rng(1)
    for shape in [(2, 3), (3,)]:
        x = rng.standard_normal(shape)
        for with_state in (False, True):
            hshape = shape[:-1] + (4,)
            h, c = rng.standard_normal(hshape), rng.standard_normal(hshape)
            if cell == "LSTMCell":
                args_c = ((cr.tensor(h), cr.tensor(c)),) if with_state else ()
                args_t = ((torch.tensor(h), torch.tensor(c)),) if with_state else ()
            else:
                args_c = (cr.tensor(h),) if with_state else ()
                args_t = (torch.tensor(h),) if with_state else ()
            ours = cm(cr.tensor(x), *args_c)
            theirs = tm(torch.tensor(x), *args_t)
            for a, b in zip(ours if isinstance(ours, tuple) else (ours,),
                            theirs if isinstance(theirs, tuple) else (theirs,)):
                np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-12)


def test_rnn_cell_relu_and_repr():
    cell = nn.RNNCell(2, 3, nonlinearity="relu").double()
    x = _x(4, 2)
    want = np.maximum(x.numpy() @ cell.weight_ih.numpy().T + cell.bias_ih.numpy()
                      + cell.bias_hh.numpy(), 0)
    np.testing.assert_allclose(cell(x).numpy(), want, rtol=1e-12)
    assert "nonlinearity='relu'" in repr(cell)
    assert repr(nn.LSTM(3, 4, 2, batch_first=True, bidirectional=True)) == \
        "LSTM(3, 4, num_layers=2, batch_first=True, bidirectional=True)"


# ---- semantics -------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_a_packed_batch_equals_each_sequence_run_alone(kind):
    """Past its length a sequence's state does not change, h_n is its last valid step, the
    reverse direction starts at its own last step, and the output is the unpadded run's."""
    cr.manual_seed(0)
    m = getattr(nn, kind)(3, 4, num_layers=2, bidirectional=True).double()
    lengths = [2, 5, 3]
    seqs = [_x(n, 3, seed=i) for i, n in enumerate(lengths)]
    packed = R.pack_sequence(seqs, enforce_sorted=False)
    out, state = m(packed)
    assert isinstance(out, R.PackedSequence)
    padded, got_lengths = R.pad_packed_sequence(out)
    assert got_lengths.tolist() == lengths
    h_n = state[0] if kind == "LSTM" else state
    for b, s in enumerate(seqs):
        alone, alone_state = m(s)  # unbatched
        alone_h = alone_state[0] if kind == "LSTM" else alone_state
        np.testing.assert_allclose(padded.numpy()[:lengths[b], b], alone.numpy(), rtol=1e-12)
        assert np.all(padded.numpy()[lengths[b]:, b] == 0)
        np.testing.assert_allclose(h_n.numpy()[:, b], alone_h.numpy(), rtol=1e-12)


def test_pack_and_pad_round_trip_and_gradients():
    lengths = [4, 1, 3]
    x = cr.tensor(np.random.default_rng(0).standard_normal((3, 4, 2)), requires_grad=True)
    packed = R.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    assert packed.batch_sizes.tolist() == [3, 2, 2, 1]
    assert packed.sorted_indices.tolist() == [0, 2, 1]
    assert packed.unsorted_indices.tolist() == [0, 2, 1]
    padded, got = R.pad_packed_sequence(packed, batch_first=True, padding_value=-1.0,
                                        total_length=6)
    assert padded.shape == (3, 6, 2) and got.tolist() == lengths
    for b, n in enumerate(lengths):
        np.testing.assert_array_equal(padded.numpy()[b, :n], x.numpy()[b, :n])
        assert np.all(padded.numpy()[b, n:] == -1.0)
    (padded * padded).sum().backward()
    mask = (np.arange(4)[None, :] < np.array(lengths)[:, None])[..., None]
    np.testing.assert_array_equal(x.grad.numpy(), 2 * x.numpy() * mask)
    seqs = R.unpack_sequence(packed)
    assert [s.shape for s in seqs] == [(4, 2), (1, 2), (3, 2)]
    left = R.pad_sequence([cr.ones(2, 1), cr.ones(3, 1)], batch_first=True, padding_side="left")
    assert left.numpy()[:, :, 0].tolist() == [[0, 1, 1], [1, 1, 1]]
    assert [s.shape for s in R.unpad_sequence(left, [2, 3], batch_first=True)] == [(2, 1), (3, 1)]


def test_pad_sequence_and_pack_sequence_match_torch():
    torch = pytest.importorskip("torch")
    import torch.nn.utils.rnn as TR

    rng = np.random.default_rng(3)
    seqs = [rng.standard_normal((n, 2)) for n in (3, 5, 1)]
    for bf in (False, True):
        ours = R.pad_sequence([cr.tensor(s) for s in seqs], batch_first=bf, padding_value=7.0)
        theirs = TR.pad_sequence([torch.tensor(s) for s in seqs], batch_first=bf,
                                 padding_value=7.0)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    ours = R.pack_sequence([cr.tensor(s) for s in seqs], enforce_sorted=False)
    theirs = TR.pack_sequence([torch.tensor(s) for s in seqs], enforce_sorted=False)
    for field in theirs._fields:
        np.testing.assert_array_equal(getattr(ours, field).numpy(), getattr(theirs, field).numpy())


@pytest.mark.parametrize("kind", KINDS)
def test_second_derivatives_through_a_layer(kind):
    cr.manual_seed(1)
    m = getattr(nn, kind)(2, 2, bidirectional=True).double()
    h0 = _x(2, 2, 2, seed=4)
    hx = (h0, _x(2, 2, 2, seed=5)) if kind == "LSTM" else h0

    def f(x):
        out, _ = m(x, hx)
        return out

    x = cr.tensor(np.random.default_rng(2).standard_normal((3, 2, 2)), requires_grad=True)
    assert cr.gradcheck(f, [x])
    assert cr.gradgradcheck(f, [x])


def test_dropout_between_layers_only_while_training():
    cr.manual_seed(0)
    m = nn.GRU(3, 4, num_layers=2, dropout=0.5).double()
    x = _x(5, 2, 3)
    m.eval()
    a, b = m(x)[0].numpy(), m(x)[0].numpy()
    np.testing.assert_array_equal(a, b)
    m.train()
    c = m(x)[0].numpy()
    assert not np.allclose(a, c)
    with pytest.warns(UserWarning, match="with num_layers=1 it does nothing"):
        one = nn.GRU(3, 4, num_layers=1, dropout=0.5).double()  # nothing between layers
    one.load_state_dict({k: v for k, v in m.state_dict().items() if "_l0" in k})
    np.testing.assert_array_equal(one(x)[0].numpy(), one.eval()(x)[0].numpy())


@pytest.mark.parametrize("kind", KINDS)
def test_compile_replays_a_training_step_bit_for_bit(kind):
    def setup():
        cr.manual_seed(0)
        model = getattr(nn, kind)(3, 8, num_layers=2, batch_first=True)
        head = nn.Linear(8, 4)
        params = list(model.parameters()) + list(head.parameters())
        opt = cr.optim.Adam(params, lr=1e-2)

        def step(x, y):
            opt.zero_grad()
            out, _ = model(x)
            loss = F.cross_entropy(head(out[:, -1]), y)
            loss.backward()
            opt.step()
            return loss

        return params, step

    rng = np.random.default_rng(0)
    batches = [(cr.tensor(rng.standard_normal((5, 6, 3)).astype(np.float32)),
                cr.tensor(rng.integers(0, 4, 5))) for _ in range(2)] * 3
    eager_params, eager_step = setup()
    eager = [eager_step(x, y).item() for x, y in batches]
    params, step = setup()
    compiled = cr.compile(step)
    replay = [compiled(x, y).item() for x, y in batches]
    assert replay == eager
    assert eager[4] < eager[2] < eager[0]  # the same batch, seen again after each step
    for p, q in zip(eager_params, params):
        np.testing.assert_array_equal(p.numpy(), q.numpy())
    assert any(e.programs for e in compiled._entries.values())


# ---- errors ----------------------------------------------------------------------------------
def test_clear_errors():
    m = nn.LSTM(3, 4, num_layers=2)
    with pytest.raises(ValueError, match=r"LSTM: expected input of 2 dimensions .* got shape "
                                         r"\(5,\)"):
        m(cr.zeros(5))
    with pytest.raises(ValueError, match=r"input.size\(-1\) must equal input_size=3; got "
                                         r"input of shape \(5, 2, 7\) \(7 features\)"):
        m(cr.zeros(5, 2, 7))
    with pytest.raises(ValueError, match=r"expected h_0 of shape \(2, 2, 4\) .* got \(1, 2, 4\)"):
        m(cr.zeros(5, 2, 3), (cr.zeros(1, 2, 4), cr.zeros(2, 2, 4)))
    with pytest.raises(ValueError, match=r"expected c_0 of shape \(2, 2, 4\)"):
        m(cr.zeros(5, 2, 3), (cr.zeros(2, 2, 4), cr.zeros(2, 5, 4)))
    with pytest.raises(TypeError, match=r"hx must be a tuple \(h_0, c_0\)"):
        m(cr.zeros(5, 2, 3), cr.zeros(2, 2, 4))
    # batch_first the wrong way round: the batch size read from the input names the dim
    bf = nn.GRU(3, 4, batch_first=True)
    with pytest.raises(ValueError, match=r"expected h_0 of shape \(1, 5, 4\) .*the batch size 5 "
                                         r"is read from the input \(5, 2, 3\), dim 0 with "
                                         r"batch_first=True"):
        bf(cr.zeros(5, 2, 3), cr.zeros(1, 2, 4))
    with pytest.raises(ValueError, match=r"got 2 lengths for a batch of 5 \(dim 1 of input "
                                         r"\(2, 5, 3\) with batch_first=False\)"):
        R.pack_padded_sequence(cr.zeros(2, 5, 3), [2, 1])
    with pytest.raises(ValueError, match=r"lengths must be sorted in decreasing order with "
                                         r"enforce_sorted=True; got \[1, 2\]"):
        R.pack_padded_sequence(cr.zeros(2, 2, 3), [1, 2])
    with pytest.raises(ValueError, match=r"lengths must be in \[1, 2\]"):
        R.pack_padded_sequence(cr.zeros(2, 2, 3), [3, 2])
    with pytest.raises(ValueError, match=r"RNN: nonlinearity must be 'tanh' or 'relu'; got "
                                         r"'sigmoid'"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="RNNCell: nonlinearity must be 'tanh' or 'relu'"):
        nn.RNNCell(3, 4, nonlinearity="gelu")
    with pytest.raises(NotImplementedError, match="proj_size=2"):
        nn.LSTM(3, 4, proj_size=2)
    with pytest.raises(ValueError, match="dropout must be a number in"):
        nn.GRU(3, 4, dropout=1.5)
    with pytest.raises(TypeError, match="input dtype float64 differs from the weights' dtype "
                                        "float32"):
        nn.RNN(3, 4)(_x(2, 3))
    with pytest.raises(ValueError, match=r"LSTMCell: expected h of shape \(2, 4\)"):
        nn.LSTMCell(3, 4)(cr.zeros(2, 3), (cr.zeros(3, 4), cr.zeros(2, 4)))
    with pytest.raises(ValueError, match=r"expected h_0 of shape \(1, 3, 4\) .*PackedSequence, "
                                         r"batch_sizes\[0\]"):
        nn.RNN(3, 4)(R.pack_sequence([cr.zeros(2, 3)] * 3), cr.zeros(1, 2, 4))
    with pytest.raises(TypeError, match="h_0 dtype float64 differs from the weights' dtype"):
        nn.RNN(3, 4)(cr.zeros(5, 2, 3), _x(1, 2, 4))
    with pytest.raises(ValueError, match=r"sequence length must be positive; got input of shape "
                                         r"\(0, 2, 3\)"):
        nn.GRU(3, 4)(cr.zeros(0, 2, 3))
    with pytest.raises(ValueError, match=r"unbatched: no batch dim"):
        nn.RNN(3, 4)(cr.zeros(5, 3), cr.zeros(1, 2, 4))
    with pytest.raises(ValueError, match=r"lstm_cell: hidden state must have shape \(2, 4\)"):
        w = cr.zeros(16, 3)
        cr.lstm_cell(cr.zeros(2, 3), (cr.zeros(1, 4), cr.zeros(2, 4)), w, cr.zeros(16, 4))


def test_compile_keys_packed_lengths_given_as_a_tuple_and_refuses_traced_lengths():
    cr.manual_seed(0)
    m = nn.GRU(3, 4)

    def step(x, lengths):
        _, h = m(R.pack_padded_sequence(x, list(lengths), enforce_sorted=False))
        loss = h.sum()
        loss.backward()
        return loss, m.weight_hh_l0.grad

    compiled = cr.compile(step)
    rng = np.random.default_rng(0)
    for lengths in [(5, 2, 3)] * 3 + [(4, 5, 1)] * 3:  # a tuple is part of the trace's key
        x = cr.tensor(rng.standard_normal((5, 3, 3)).astype(np.float32))
        m.zero_grad()
        eager = [t.numpy().copy() for t in step(x, lengths)]
        m.zero_grad()
        replay = [t.numpy() for t in compiled(x, lengths)]
        for a, b in zip(eager, replay):
            np.testing.assert_array_equal(a, b)
    traced = cr.compile(lambda x, lengths: m(R.pack_padded_sequence(x, lengths))[1].sum())
    with pytest.raises(cr.CompileError, match="reads the value of a traced tensor"):
        traced(cr.zeros(5, 3, 3), cr.tensor(np.array([5, 3, 2])))
