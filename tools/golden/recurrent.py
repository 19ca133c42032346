"""Write tests/golden/recurrent.npz: PyTorch's results for the recurrent family in float64.

* every op-table row of tests/op_rows/recurrent.py with a torch function (values, gradients);
* nn.RNN (tanh, relu), nn.LSTM and nn.GRU with num_layers=2, bidirectional=True, batch_first
  both ways, initial states given and not, padded and packed (variable-length) input, and
  unbatched input: the output, h_n (and c_n), and the gradients of every parameter, of the
  input and of the initial states, for the parameters and inputs drawn by `case_arrays`;
* the state_dict key names of each module, and pack_padded_sequence's packed fields.

Run with torch 2.13 installed, from the repository root:

    PYTHONPATH=src python tools/golden/recurrent.py
"""

import pathlib
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

I, H, T, B, LAYERS = 2, 2, 4, 3, 2
LENGTHS = [4, 2, 3]  # unsorted, distinct: the packed cases use enforce_sorted=False
KINDS = [("RNN", "tanh"), ("RNN", "relu"), ("LSTM", None), ("GRU", None)]
# (kind, nonlinearity, batch_first, initial state given, input: "padded", "packed", "unbatched")
CASES = [(k, nl, bf, given, inp) for k, nl in KINDS for bf in (False, True)
         for given in (False, True) for inp in ("padded", "packed")]
CASES += [(k, nl, False, given, "unbatched") for k, nl in KINDS for given in (False, True)]


def case_id(case):
    kind, nl, bf, given, inp = case
    return (f"{kind}{'-' + nl if nl else ''}-{'bf' if bf else 'tm'}-"
            f"{'h0' if given else 'noh0'}-{inp}")


def module_kwargs(case):
    kind, nl, bf, _, _ = case
    kw = dict(num_layers=LAYERS, bidirectional=True, batch_first=bf)
    if nl is not None:
        kw["nonlinearity"] = nl
    return kw


def param_shapes(kind):
    """{torch parameter name: shape} of a 2-layer bidirectional module, in torch's order."""
    gates = {"RNN": 1, "LSTM": 4, "GRU": 3}[kind] * H
    out = {}
    for layer in range(LAYERS):
        for suffix in ("", "_reverse"):
            width = I if layer == 0 else 2 * H
            s = f"_l{layer}{suffix}"
            out.update({f"weight_ih{s}": (gates, width), f"weight_hh{s}": (gates, H),
                        f"bias_ih{s}": (gates,), f"bias_hh{s}": (gates,)})
    return out


def case_arrays(i, case):
    """The parameters, input, initial states and output cotangents of case i (NumPy)."""
    kind, _, bf, given, inp = case
    rng = np.random.default_rng(1000 + i)
    params = {k: rng.uniform(-0.6, 0.6, s) for k, s in param_shapes(kind).items()}
    shape = (T, I) if inp == "unbatched" else ((B, T, I) if bf else (T, B, I))
    state = (2 * LAYERS, H) if inp == "unbatched" else (2 * LAYERS, B, H)
    x = rng.standard_normal(shape)
    h0, c0 = rng.standard_normal(state), rng.standard_normal(state)
    out_shape = shape[:-1] + (2 * H,)
    w_out, w_h, w_c = rng.standard_normal(out_shape), rng.standard_normal(state), \
        rng.standard_normal(state)
    return dict(params=params, x=x, h0=h0, c0=c0, w_out=w_out, w_h=w_h, w_c=w_c)


def run(lib, case, a):
    """Run case on library `lib` (a namespace with nn, tensor, pack/pad functions): returns
    {name: array} of the outputs and every gradient, after backward of
    <w_out, output> + <w_h, h_n> (+ <w_c, c_n>)."""
    kind, _, bf, given, inp = case
    m = getattr(lib.nn, kind)(I, H, **module_kwargs(case))
    m = m.double()
    m.load_state_dict({k: lib.tensor(v) for k, v in a["params"].items()})
    x = lib.tensor(a["x"], requires_grad=True)
    h0, c0 = lib.tensor(a["h0"], requires_grad=True), lib.tensor(a["c0"], requires_grad=True)
    hx = ((h0, c0) if kind == "LSTM" else h0) if given else None
    xin = lib.pack(x, LENGTHS, batch_first=bf, enforce_sorted=False) if inp == "packed" else x
    out, state = m(xin, hx)
    if inp == "packed":
        out = lib.unpack(out, batch_first=bf)[0]
    h_n, c_n = state if kind == "LSTM" else (state, None)
    total = (out * lib.tensor(a["w_out"])).sum() + (h_n * lib.tensor(a["w_h"])).sum()
    if c_n is not None:
        total = total + (c_n * lib.tensor(a["w_c"])).sum()
    total.backward()
    res = {"output": out, "h_n": h_n, "grad_x": x.grad}
    if c_n is not None:
        res["c_n"] = c_n
    if given:
        res["grad_h0"] = h0.grad
        if kind == "LSTM":
            res["grad_c0"] = c0.grad
    for name, p in m.named_parameters():
        res[f"grad_{name}"] = p.grad
    return {k: lib.array(v) for k, v in res.items()}, list(m.state_dict())


class TorchLib:
    def __init__(self):
        import torch
        import torch.nn.utils.rnn as R

        self.nn, self.torch = torch.nn, torch
        self.pack, self.unpack = R.pack_padded_sequence, R.pad_packed_sequence

    def tensor(self, v, requires_grad=False):
        return self.torch.tensor(v, dtype=self.torch.float64, requires_grad=requires_grad)

    @staticmethod
    def array(t):
        return t.detach().numpy()


def main():
    import torch
    from tests.core.test_ops import _as_tuple, _inputs
    from tests.golden import save
    from tests.op_rows.recurrent import ROWS
    from tools.golden.conv import weights

    arrays = {"torch_version": np.array(torch.__version__)}
    ids = []
    for n, r in enumerate(r for r in ROWS if r.torch is not None):
        xs = [torch.tensor(x, requires_grad=True) for x in _inputs(r)]
        ys = _as_tuple(r.torch(*xs))
        sum((y * torch.tensor(w)).sum() for y, w in zip(ys, weights(ys))).backward()
        ids.append(r.id)
        for i, y in enumerate(ys):
            arrays[f"r{n}_y{i}"] = y.detach().numpy()
        for j, x in enumerate(xs):
            arrays[f"r{n}_g{j}"] = x.grad.numpy() if x.grad is not None else np.zeros(x.shape)
    arrays["ids"] = np.array(ids)
    lib = TorchLib()
    for i, case in enumerate(CASES):
        res, keys = run(lib, case, case_arrays(i, case))
        for k, v in res.items():
            arrays[f"{case_id(case)}/{k}"] = v
        arrays[f"{case[0]}/state_dict_keys"] = np.array(keys)
    x = np.random.default_rng(7).standard_normal((T, B, I))
    packed = lib.pack(torch.tensor(x), LENGTHS, enforce_sorted=False)
    for field in packed._fields:
        arrays[f"packed/{field}"] = getattr(packed, field).numpy()
    save("recurrent", arrays)
    print(f"wrote tests/golden/recurrent.npz: {len(ids)} rows, {len(CASES)} module cases")


if __name__ == "__main__":
    main()
