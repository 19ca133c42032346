"""Attention's own claims: the fused first-order backward equals the chainrule-op vjp, a fully
masked row gives torch's zeros, the sinusoidal encoding equals its formula (and seed 004's
position-1 numbers are wrong), RoPE's relative-position property, RMSNorm, the Transformer
stack's structure and compile replay, and clear errors."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F


def _qkv(seed=0, shape=((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 4))):
    rng = np.random.default_rng(seed)
    return [cr.tensor(rng.standard_normal(s), requires_grad=True) for s in shape]


@pytest.mark.parametrize("kw", [{}, {"is_causal": True}, {"mask": True}])
def test_fused_backward_equals_the_chainrule_op_vjp(kw):
    q, k, v = _qkv()
    m = cr.tensor(np.random.default_rng(1).standard_normal((4, 6)), requires_grad=True)
    args = dict(is_causal=kw.get("is_causal", False), attn_mask=m if kw.get("mask") else None)
    y = F.scaled_dot_product_attention(q, k, v, **args)
    g = cr.tensor(np.random.default_rng(2).standard_normal(y.shape))
    ins = [q, k, v] + ([m] if kw.get("mask") else [])
    fused = cr.autograd.grad((y * g).sum(), ins, retain_graph=True)  # grad mode off: fused
    composed = cr.autograd.grad((y * g).sum(), ins, create_graph=True)  # chainrule ops
    for a, b in zip(fused, composed):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-13)
    assert all(b.requires_grad for b in composed)


def test_heads_split_from_one_projection_merge_back_without_a_copy():
    # q, k, v as MultiheadAttention makes them: (N, L, 3E) -> split -> (N, H, L, hd) views;
    # y = p v comes out in v's memory order, so y's heads merge with a view, and so does gv
    N, L, H, hd = 2, 5, 3, 4
    x = cr.tensor(np.random.default_rng(3).standard_normal((N, L, 3 * H * hd)),
                  requires_grad=True)
    heads = [t.reshape(N, L, H, hd).permute(0, 2, 1, 3) for t in x.split(H * hd, dim=-1)]
    y = F.scaled_dot_product_attention(*heads)
    if type(y._data) is np.ndarray:  # (the layout is the host's: a device's matmul has its own)
        assert not heads[2]._data.flags.c_contiguous
        assert y.permute(0, 2, 1, 3)._data.flags.c_contiguous  # reshape is a view
    q, k, v = (cr.tensor(h.numpy().copy(), requires_grad=True) for h in heads)
    s = (q @ k.mT) * (1 / np.sqrt(hd))
    ref = cr.softmax(s, -1) @ v  # the composed form, on contiguous copies
    np.testing.assert_allclose(y.numpy(), ref.numpy(), rtol=1e-13, atol=1e-14)
    g = np.random.default_rng(4).standard_normal(y.shape)
    (y * cr.tensor(g)).sum().backward()
    (ref * cr.tensor(g)).sum().backward()
    want = np.concatenate([t.grad.numpy().transpose(0, 2, 1, 3).reshape(N, L, H * hd)
                           for t in (q, k, v)], axis=-1)
    np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-12, atol=1e-13)


def test_a_fully_masked_row_gives_zeros_and_zero_gradients():
    q, k, v = _qkv(shape=((3, 2), (4, 2), (4, 3)))
    mask = np.ones((3, 4), bool)
    mask[1] = False
    y = F.scaled_dot_product_attention(q, k, v, cr.tensor(mask))
    assert np.all(y.numpy()[1] == 0) and np.all(np.isfinite(y.numpy()))
    y.sum().backward()
    assert np.all(q.grad.numpy()[1] == 0) and np.all(np.isfinite(k.grad.numpy()))
    # MultiheadAttention's need_weights path is torch's explicit softmax: nan, as torch
    mha = cr.nn.MultiheadAttention(4, 2, batch_first=True).double()
    x = cr.tensor(np.random.default_rng(0).standard_normal((1, 3, 4)))
    pad = cr.tensor(np.ones((1, 3), bool))
    with np.errstate(invalid="ignore"):
        assert np.isnan(mha(x, x, x, key_padding_mask=pad)[0].numpy()).all()
    assert np.all(mha(x, x, x, key_padding_mask=pad, need_weights=False)[0].numpy() == 0)


def test_sinusoidal_encoding_equals_the_formula():
    pe = F.sinusoidal_positional_encoding(50, 16, dtype=np.float64).numpy()
    pos, i = np.meshgrid(np.arange(50), np.arange(8), indexing="ij")
    np.testing.assert_allclose(pe[:, 0::2], np.sin(pos / 10000 ** (2 * i / 16)), atol=1e-15)
    np.testing.assert_allclose(pe[:, 1::2], np.cos(pos / 10000 ** (2 * i / 16)), atol=1e-15)
    # seed 004 says PE(1, 0) is about 0.0001: it is sin(1) = 0.841 (0.0001 is 1/10000^(2i/d)
    # at the last i, the slowest frequency)
    assert pe[1, 0] == pytest.approx(np.sin(1.0)) and pe[1, 1] == pytest.approx(np.cos(1.0))
    odd = F.sinusoidal_positional_encoding(5, 7).numpy()
    assert odd.shape == (5, 7) and odd.dtype == np.float32
    m = cr.nn.SinusoidalPositionalEncoding(16, max_len=50)
    x = cr.zeros(2, 10, 16)
    np.testing.assert_allclose(m(x).numpy()[1], pe[:10], atol=1e-7)


def test_rotary_dot_products_depend_only_on_the_offset():
    rng = np.random.default_rng(0)
    q, k = rng.standard_normal(8), rng.standard_normal(8)
    T = 12
    qs = F.rotary_embedding(cr.tensor(np.tile(q, (T, 1)))).numpy()
    ks = F.rotary_embedding(cr.tensor(np.tile(k, (T, 1)))).numpy()
    dots = qs @ ks.T  # <R(m) q, R(n) k>
    for off in range(-T + 1, T):
        d = np.diagonal(dots, -off)  # entries with m - n = off
        np.testing.assert_allclose(d, d[0], rtol=1e-12, atol=1e-12)
    assert np.ptp([np.diagonal(dots, o)[0] for o in range(T)]) > 1e-3  # it does vary with m-n
    # a rotation: norms are kept, and position 0 is the identity
    np.testing.assert_allclose(np.linalg.norm(qs, axis=1), np.linalg.norm(q), rtol=1e-12)
    np.testing.assert_allclose(qs[0], q, rtol=1e-15)


def test_rms_norm_module_and_default_eps():
    x = cr.tensor(np.random.default_rng(0).standard_normal((2, 3, 4)))
    m = cr.nn.RMSNorm(4).double()
    want = x.numpy() / np.sqrt((x.numpy() ** 2).mean(-1, keepdims=True) + np.finfo(float).eps)
    np.testing.assert_allclose(m(x).numpy(), want, rtol=1e-13)
    assert [n for n, _ in m.named_parameters()] == ["weight"]


def test_generate_square_subsequent_mask():
    m = cr.nn.Transformer.generate_square_subsequent_mask(3).numpy()
    assert m.tolist() == [[0, -np.inf, -np.inf], [0, 0, -np.inf], [0, 0, 0]]


def test_encoder_clones_layers_and_compiled_step_equals_eager_bit_for_bit():
    cr.manual_seed(0)
    layer = cr.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    enc = cr.nn.TransformerEncoder(layer, 2)
    assert enc.layers[0].linear1.weight is not enc.layers[1].linear1.weight
    assert "layers.1.self_attn.in_proj_weight" in enc.state_dict()
    opt = cr.optim.Adam(enc.parameters(), lr=1e-3)
    mask = cr.nn.Transformer.generate_square_subsequent_mask(5)

    def step(x):
        opt.zero_grad()
        loss = (enc(x, mask=mask, is_causal=True) ** 2).mean()
        loss.backward()
        opt.step()
        return loss

    import copy

    enc2 = copy.deepcopy(enc)
    xs = [cr.randn(3, 5, 8) for _ in range(4)]
    eager = [step(x).item() for x in xs]
    enc.load_state_dict(enc2.state_dict())
    opt = cr.optim.Adam(enc.parameters(), lr=1e-3)
    compiled = cr.compile(step)
    assert [compiled(x).item() for x in xs] == eager


def test_clear_errors():
    with pytest.raises(ValueError, match="embed_dim must be divisible by num_heads; got "
                                         "embed_dim=10, num_heads=3"):
        cr.nn.MultiheadAttention(10, 3)
    mha = cr.nn.MultiheadAttention(8, 2, batch_first=True)
    x = cr.zeros(2, 4, 8)
    with pytest.raises(ValueError, match=r"key_padding_mask must have shape \(N, S\) = "
                                         r"\(2, 4\); got \(2, 5\)"):
        mha(x, x, x, key_padding_mask=cr.tensor(np.zeros((2, 5), bool)))
    with pytest.raises(ValueError, match=r"2-D attn_mask must have shape \(L, S\) = \(4, 4\)"):
        mha(x, x, x, attn_mask=cr.tensor(np.zeros((3, 4), bool)))
    with pytest.raises(ValueError, match=r"3-D attn_mask must have shape \(N \* num_heads, "
                                         r"L, S\) = \(4, 4, 4\)"):
        mha(x, x, x, attn_mask=cr.zeros(2, 4, 4))
    with pytest.raises(ValueError, match=r"query must be 3-D \(N, L, E\) \(batch_first=True\)"):
        mha(cr.zeros(1, 2, 4, 8), cr.zeros(1, 2, 4, 8), cr.zeros(1, 2, 4, 8))
    layer = cr.nn.TransformerEncoderLayer(8, 2, 16)
    with pytest.raises(ValueError, match=r"input must be 3-D \(T, N, E\) \(batch_first=False\)"):
        layer(cr.zeros(8))
    with pytest.raises(ValueError, match=r"attn_mask of shape \(3, 6\) does not broadcast to "
                                         r"the scores' shape \(2, 3, 4, 6\)"):
        F.scaled_dot_product_attention(*_qkv(), attn_mask=cr.zeros(3, 6, dtype=cr.float64))
    with pytest.raises(ValueError, match="same last dim E"):
        F.scaled_dot_product_attention(cr.zeros(3, 4), cr.zeros(3, 5), cr.zeros(3, 5))
    with pytest.raises(ValueError, match="activation must be 'relu', 'gelu'"):
        cr.nn.TransformerEncoderLayer(8, 2, activation="swish")
