"""Write tests/golden/attention.npz: PyTorch's (2.13, float64) outputs, parameter gradients and
input gradients for scaled_dot_product_attention, MultiheadAttention and the Transformer encoder
and decoder layers, with the inputs, masks and torch's state_dicts, so that
tests/nn/test_attention_golden.py checks chainrule against them without torch (loading each
state_dict by name). Run with torch 2.13 installed, from the repository root:

    PYTHONPATH=src python tools/golden/attention.py
"""

import pathlib
import sys
from dataclasses import dataclass, field

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

L, S, N = 4, 5, 2  # query length, key length, batch


@dataclass
class Case:
    id: str
    kind: str  # "sdpa", "mha", "encoder", "decoder"
    init: dict = field(default_factory=dict)  # constructor kwargs
    call: dict = field(default_factory=dict)  # forward kwargs other than masks
    masks: tuple = ()  # names of the masks made by masks_for


def _bool(rng, shape, keep_first=True):
    m = rng.random(shape) < 0.3
    if keep_first:
        m[..., 0] = False  # no row fully masked (torch's need_weights path would give nan)
    return m


def masks_for(case):
    """{name: array} of the case's masks (True = masked out for nn modules, as torch)."""
    rng = np.random.default_rng(7)
    H = case.init.get("num_heads", case.init.get("nhead", 2))
    Tk = L if case.call.get("self") else S  # the keys' length
    out = {}
    for name in case.masks:
        if name == "sdpa_bool":  # True = take part (SDPA's convention); row 1 fully masked
            m = rng.random((L, S)) < 0.7
            m[1] = False
            out["attn_mask"] = m
        elif name == "sdpa_float":
            out["attn_mask"] = rng.standard_normal((N, 1, L, S))
        elif name == "key_padding_bool":
            out["key_padding_mask"] = _bool(rng, (N, Tk))
        elif name == "key_padding_float":
            out["key_padding_mask"] = rng.standard_normal((N, S))
        elif name == "attn_bool":
            out["attn_mask"] = _bool(rng, (L, S))
        elif name == "attn_float3":
            out["attn_mask"] = rng.standard_normal((N * H, L, S))
        elif name == "causal":
            out["attn_mask"] = np.triu(np.full((L, L), -np.inf), 1)
        elif name == "src_mask":
            out["src_mask"] = np.triu(np.ones((L, L), bool), 1)
        elif name == "src_key_padding_mask":
            out["src_key_padding_mask"] = _bool(rng, (N, L))
        elif name == "tgt_mask":
            out["tgt_mask"] = np.triu(np.full((L, L), -np.inf), 1)
        elif name == "memory_key_padding_mask":
            out["memory_key_padding_mask"] = _bool(rng, (N, S))
    return out


def inputs_for(case):
    """The float64 inputs (query, key, value) / (src,) / (tgt, memory), batch as the layout."""
    rng = np.random.default_rng(3)
    E = case.init.get("embed_dim", case.init.get("d_model", 8))
    bf = case.init.get("batch_first", False)

    def seq(T, d):
        return rng.standard_normal((N, T, d) if bf else (T, N, d))

    if case.kind == "sdpa":
        return [rng.standard_normal((N, 3, L, 6)), rng.standard_normal((N, 3, S, 6)),
                rng.standard_normal((N, 3, S, 7))]
    if case.kind == "mha":
        if case.call.get("unbatched"):
            return [rng.standard_normal((L, E)), rng.standard_normal((S, E)),
                    rng.standard_normal((S, E))]
        kd, vd = case.init.get("kdim", E), case.init.get("vdim", E)
        if case.call.get("self"):
            return [seq(L, E)]
        return [seq(L, E), seq(S, kd), seq(S, vd)]
    if case.kind == "encoder":
        return [seq(L, E)]
    return [seq(L, E), seq(S, E)]


_LAYER = dict(d_model=8, nhead=2, dim_feedforward=16, dropout=0.0)
CASES = [
    Case("sdpa_plain", "sdpa"),
    Case("sdpa_causal", "sdpa", call=dict(is_causal=True)),
    Case("sdpa_bool_mask", "sdpa", masks=("sdpa_bool",)),
    Case("sdpa_float_mask_scale", "sdpa", call=dict(scale=0.25), masks=("sdpa_float",)),
    Case("mha_self_key_padding", "mha", dict(embed_dim=8, num_heads=2),
         dict(self=True), ("key_padding_bool",)),
    Case("mha_causal_float_batch_first", "mha", dict(embed_dim=8, num_heads=2, batch_first=True),
         dict(self=True), ("causal",)),
    Case("mha_bool_attn_and_padding", "mha", dict(embed_dim=8, num_heads=4),
         {}, ("attn_bool", "key_padding_bool")),
    Case("mha_float3_float_padding", "mha", dict(embed_dim=8, num_heads=2),
         dict(average_attn_weights=False), ("attn_float3", "key_padding_float")),
    Case("mha_kdim_vdim", "mha", dict(embed_dim=8, num_heads=2, kdim=5, vdim=3,
                                      batch_first=True), {}, ("key_padding_bool",)),
    Case("mha_bias_kv_zero_attn", "mha", dict(embed_dim=8, num_heads=2, add_bias_kv=True,
                                              add_zero_attn=True), {}, ("attn_bool",)),
    Case("mha_no_bias_no_weights", "mha", dict(embed_dim=8, num_heads=2, bias=False),
         dict(need_weights=False), ("key_padding_bool",)),
    Case("mha_unbatched", "mha", dict(embed_dim=8, num_heads=2), dict(unbatched=True)),
]
for nf in (False, True):
    for act in ("relu", "gelu"):
        tag = f"{'pre' if nf else 'post'}norm_{act}"
        CASES.append(Case(f"encoder_{tag}", "encoder",
                          dict(_LAYER, norm_first=nf, activation=act, batch_first=nf),
                          {}, ("src_mask", "src_key_padding_mask")))
        CASES.append(Case(f"decoder_{tag}", "decoder",
                          dict(_LAYER, norm_first=nf, activation=act, batch_first=not nf),
                          {}, ("tgt_mask", "memory_key_padding_mask")))
CASES.append(Case("encoder_stack_causal", "encoder_stack",
                  dict(_LAYER, norm_first=True, batch_first=True), dict(is_causal=True),
                  ("causal",)))


def weights(outputs):
    """The cotangents the gradients are taken with (one per output)."""
    rng = np.random.default_rng(1)
    return [rng.standard_normal(tuple(y.shape)) for y in outputs]


def run(case, lib, module=None):
    """(module, inputs, outputs) of the case in lib ("torch" or chainrule as cr)."""
    xs_np = inputs_for(case if case.kind != "encoder_stack" else
                       Case(case.id, "encoder", case.init))
    ms = masks_for(case)
    xs = [lib.tensor(x, requires_grad=True) for x in xs_np]
    masks = {k: lib.tensor(v) for k, v in ms.items()}
    nn = lib.nn
    if case.kind == "sdpa":
        sdpa = nn.functional.scaled_dot_product_attention
        return None, xs, (sdpa(*xs, **masks, **case.call),)
    if case.kind == "mha":
        module = module or nn.MultiheadAttention(**case.init).double()
        call = {k: v for k, v in case.call.items() if k not in ("self", "unbatched")}
        q, k, v = (xs[0], xs[0], xs[0]) if case.call.get("self") else xs
        if case.call.get("unbatched"):
            masks = {}
        y, w = module(q, k, v, **masks, **call)
        return module, xs, (y,) if w is None else (y, w)
    if case.kind == "encoder":
        module = module or nn.TransformerEncoderLayer(**case.init).double()
        return module, xs, (module(xs[0], **masks),)
    if case.kind == "encoder_stack":
        module = module or nn.TransformerEncoder(nn.TransformerEncoderLayer(**case.init), 2,
                                                 norm=nn.LayerNorm(8),
                                                 enable_nested_tensor=False).double()
        return module, xs, (module(xs[0], mask=masks["attn_mask"], **case.call),)
    module = module or nn.TransformerDecoderLayer(**case.init).double()
    return module, xs, (module(xs[0], xs[1], **masks),)


def main():
    import torch
    from tests.golden import save

    torch.manual_seed(0)
    arrays = {"torch_version": np.array(torch.__version__),
              "ids": np.array([c.id for c in CASES])}
    for c in CASES:
        module, xs, ys = run(c, torch)
        total = sum((y * torch.tensor(w)).sum() for y, w in zip(ys, weights(ys)))
        total.backward()
        for i, y in enumerate(ys):
            arrays[f"{c.id}/y{i}"] = y.detach().numpy()
        for j, x in enumerate(xs):
            arrays[f"{c.id}/gx{j}"] = x.grad.numpy()
        if module is not None:
            for name, p in module.named_parameters():
                arrays[f"{c.id}/param/{name}"] = p.detach().numpy()
                arrays[f"{c.id}/grad/{name}"] = p.grad.numpy()
    save("attention", arrays)
    size = (ROOT / "tests/golden/attention.npz").stat().st_size
    print(f"wrote tests/golden/attention.npz: {len(CASES)} cases, {size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
