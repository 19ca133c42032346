"""PyTorch parity of attention without torch: scaled_dot_product_attention, MultiheadAttention
(key padding, causal, bool and float, 2-D and 3-D masks, kdim/vdim, bias_kv, zero_attn,
unbatched) and the Transformer encoder/decoder layers (norm_first both ways, relu and gelu),
against tests/golden/attention.npz (tools/golden/attention.py, torch 2.13, float64): each
torch state_dict loads by name, then outputs, attention weights, every parameter gradient and
every input gradient agree. The same cases run against live torch when it is installed."""

import numpy as np
import pytest
from tools.golden.attention import CASES, run, weights

import chainrule as cr
from tests import golden

GOLDEN = golden.load("attention")


def test_the_golden_file_covers_every_case():
    assert list(GOLDEN["ids"]) == [c.id for c in CASES], \
        "run PYTHONPATH=src python tools/golden/attention.py"
    assert str(GOLDEN["torch_version"]).startswith("2.13")


def _module_from_golden(case):
    """The chainrule module of the case with torch's parameters loaded by name."""
    prefix = f"{case.id}/param/"
    state = {k[len(prefix):]: v for k, v in GOLDEN.items() if k.startswith(prefix)}
    if not state:
        return None
    cr.manual_seed(0)
    module, _, _ = run(case, cr)
    module.load_state_dict(state)  # strict: every name must match
    return module


def _check(case, module, xs, ys, ref, atol=1e-11):
    total = sum((y * cr.tensor(w)).sum() for y, w in zip(ys, weights(ys)))
    total.backward()
    for i, y in enumerate(ys):
        np.testing.assert_allclose(y.numpy(), ref(f"y{i}"), rtol=1e-9, atol=atol)
    for j, x in enumerate(xs):
        np.testing.assert_allclose(x.grad.numpy(), ref(f"gx{j}"), rtol=1e-9, atol=atol)
    if module is not None:
        for name, p in module.named_parameters():
            np.testing.assert_allclose(p.grad.numpy(), ref(f"grad/{name}"), rtol=1e-9,
                                       atol=atol, err_msg=name)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_outputs_and_all_gradients_equal_pytorchs(case):
    module = _module_from_golden(case)
    module, xs, ys = run(case, cr, module)
    n_ref = sum(k.startswith(f"{case.id}/y") for k in GOLDEN)
    assert len(ys) == n_ref
    _check(case, module, xs, ys, lambda k: GOLDEN[f"{case.id}/{k}"])


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_live_torch_when_installed(case):
    torch = pytest.importorskip("torch")
    torch.manual_seed(1)
    tmod, txs, tys = run(case, torch)
    sum((y * torch.tensor(w)).sum() for y, w in zip(tys, weights(tys))).backward()
    module = None
    if tmod is not None:
        cr.manual_seed(0)
        module, _, _ = run(case, cr)
        module.load_state_dict({k: v.detach().numpy() for k, v in tmod.state_dict().items()})
    module, xs, ys = run(case, cr, module)
    ref = {f"y{i}": y.detach().numpy() for i, y in enumerate(tys)}
    ref.update({f"gx{j}": x.grad.numpy() for j, x in enumerate(txs)})
    if tmod is not None:
        ref.update({f"grad/{n}": p.grad.numpy() for n, p in tmod.named_parameters()})
    _check(case, module, xs, ys, ref.__getitem__)


def test_parameter_names_and_shapes_are_torchs():
    names = {k.split("/", 2)[2]: GOLDEN[k].shape for k in GOLDEN
             if k.startswith("mha_kdim_vdim/param/")}
    m = cr.nn.MultiheadAttention(8, 2, kdim=5, vdim=3)
    assert {n: tuple(p.shape) for n, p in m.named_parameters()} == names
    names = {k.split("/", 2)[2] for k in GOLDEN if k.startswith("decoder_postnorm_relu/param/")}
    layer = cr.nn.TransformerDecoderLayer(8, 2, 16)
    assert {n for n, _ in layer.named_parameters()} == names
