"""PyTorch parity of the recurrent family in float64, without torch: the cell rows and every
RNN/LSTM/GRU case of tools/golden/recurrent.py (2 layers, bidirectional, batch_first both
ways, initial states given and not, padded, packed variable-length and unbatched input) against
tests/golden/recurrent.npz (written with torch 2.13): outputs, final states and the gradients of
every parameter, the input and the initial states; torch's state_dict keys; and the same cases
against live torch when it is installed."""

import numpy as np
import pytest
from tools.golden.conv import weights
from tools.golden.recurrent import CASES, LENGTHS, case_arrays, case_id, run

import chainrule as cr
from chainrule.nn.utils import rnn as R
from tests import golden
from tests.core.test_ops import _as_tuple, _inputs
from tests.op_rows.recurrent import ROWS

GOLDEN = golden.load("recurrent")
IDS = list(GOLDEN["ids"])
TORCH_ROWS = [r for r in ROWS if r.torch is not None]
TOL = dict(rtol=1e-10, atol=1e-12)


class ChainruleLib:
    nn = cr.nn
    pack, unpack = staticmethod(R.pack_padded_sequence), staticmethod(R.pad_packed_sequence)

    @staticmethod
    def tensor(v, requires_grad=False):
        return cr.tensor(np.asarray(v, dtype=np.float64), requires_grad=requires_grad)

    @staticmethod
    def array(t):
        return t.numpy()


def test_the_golden_file_covers_every_row_and_case():
    assert IDS == [r.id for r in TORCH_ROWS], "run PYTHONPATH=src python tools/golden/recurrent.py"
    assert str(GOLDEN["torch_version"]).startswith("2.13")
    for case in CASES:
        assert f"{case_id(case)}/output" in GOLDEN, case_id(case)


@pytest.mark.parametrize("r", TORCH_ROWS, ids=lambda r: r.id)
def test_cell_values_and_gradients_equal_pytorchs(r):
    n = IDS.index(r.id)
    xs = [cr.tensor(x, requires_grad=True) for x in _inputs(r)]
    ys = _as_tuple(r.fn(*xs))
    for i, y in enumerate(ys):
        np.testing.assert_allclose(y.numpy(), GOLDEN[f"r{n}_y{i}"], **TOL)
    sum((y * cr.tensor(w)).sum() for y, w in zip(ys, weights(ys))).backward()
    for j, x in enumerate(xs):
        np.testing.assert_allclose(x.grad.numpy(), GOLDEN[f"r{n}_g{j}"], **TOL)


def _compare(got, want, case):
    assert set(got) == set(want), case_id(case)
    for k in want:
        assert got[k].shape == want[k].shape, (case_id(case), k)
        np.testing.assert_allclose(got[k], want[k], **TOL, err_msg=f"{case_id(case)}: {k}")


@pytest.mark.parametrize("i", range(len(CASES)), ids=[case_id(c) for c in CASES])
def test_module_outputs_and_gradients_equal_pytorchs(i):
    case = CASES[i]
    got, keys = run(ChainruleLib, case, case_arrays(i, case))
    prefix = f"{case_id(case)}/"
    want = {k[len(prefix):]: v for k, v in GOLDEN.items() if k.startswith(prefix)}
    _compare(got, want, case)
    # the parameters are named and ordered as torch's state_dict
    assert keys == list(GOLDEN[f"{case[0]}/state_dict_keys"])


@pytest.mark.parametrize("i", range(0, len(CASES), 3), ids=[case_id(c) for c in CASES[::3]])
def test_module_cases_against_live_torch(i):
    pytest.importorskip("torch")
    from tools.golden.recurrent import TorchLib

    case = CASES[i]
    a = case_arrays(i, case)
    got, keys = run(ChainruleLib, case, a)
    want, torch_keys = run(TorchLib(), case, a)
    _compare(got, want, case)
    assert keys == torch_keys


def test_packed_fields_equal_pytorchs():
    x = np.random.default_rng(7).standard_normal((4, 3, 2))
    packed = R.pack_padded_sequence(cr.tensor(x), LENGTHS, enforce_sorted=False)
    for field in packed._fields:
        np.testing.assert_array_equal(getattr(packed, field).numpy(), GOLDEN[f"packed/{field}"])
