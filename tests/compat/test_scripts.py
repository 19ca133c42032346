"""Three tutorial-style PyTorch training scripts (tests/compat/scripts/) run on chainrule with
only their imports renamed and, from one shared initial state_dict, give torch's losses to
float32 tolerance: against torch live when installed, against the committed golden file
(tests/golden/compat.npz, tools/golden/compat.py) always."""

import contextlib
import io

import numpy as np
import pytest

import chainrule
from tests import golden
from tests.compat import scripts

GOLDEN = golden.load("compat")
# float32 rounding, compounded over the training steps; measured max relative differences:
# poly_regression 2.5e-6, mlp_classifier 2.9e-7, manual_tensors_lbfgs 9.4e-5 (L-BFGS's ten
# quasi-Newton iterations amplify the gradient-descent phase's 2.5e-6; in float64 chainrule's
# LBFGS follows torch's to 1e-12, tests/optim/test_optim_compat.py)
RTOL = {"poly_regression": 2e-5, "mlp_classifier": 2e-5, "manual_tensors_lbfgs": 3e-4}
# against torch run here: torch's own float32 kernels differ between CPUs, and L-BFGS's last
# iteration amplifies that: torch 2.13 on one 2-core x86_64 machine ended 1.46e-2 away from
# the same torch's golden run (chainrule 9.3e-5 from it), so the live check of that script
# allows 3e-2 on its last loss and keeps 3e-4 on the others
LIVE_LAST_RTOL = {"manual_tensors_lbfgs": 3e-2}


def _golden(name):
    prefix = f"script:{name}:init/"
    init = {k[len(prefix):]: v for k, v in GOLDEN.items() if k.startswith(prefix)}
    return init, GOLDEN[f"script:{name}:losses"]


@pytest.mark.parametrize("name", scripts.SCRIPTS)
def test_the_port_renames_imports_and_nothing_else(name):
    original = scripts.source(name, "torch").splitlines()
    ported = scripts.source(name, "chainrule").splitlines()
    changed = [(a, b) for a, b in zip(original, ported) if a != b]
    assert len(original) == len(ported) and changed
    assert all(a.lstrip().startswith(("import torch", "from torch")) for a, _ in changed)


@pytest.mark.parametrize("name", scripts.SCRIPTS)
def test_script_losses_match_pytorch_golden(name):
    init, want = _golden(name)
    _, got = scripts.run(name, chainrule, init)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=RTOL[name], atol=1e-7)
    assert got[-1] < got[0] or name == "mlp_classifier"  # it trains


@pytest.mark.parametrize("name", scripts.SCRIPTS)
def test_script_losses_match_pytorch_live(name):
    torch = pytest.importorskip("torch")
    init, want = scripts.run(name, torch)
    _, got = scripts.run(name, chainrule, init)
    last = LIVE_LAST_RTOL.get(name)
    if last is not None:
        np.testing.assert_allclose(got[-1], want[-1], rtol=last)
        got, want = got[:-1], want[:-1]
    np.testing.assert_allclose(got, want, rtol=RTOL[name], atol=1e-7)


@pytest.mark.parametrize("name", scripts.SCRIPTS)
def test_ported_script_runs_as_a_program(name):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        scripts.load(name, "chainrule", run_name="__main__")
    assert out.getvalue().strip()


def test_classifier_learns_the_spirals():
    init, losses = _golden("mlp_classifier")
    _, got = scripts.run("mlp_classifier", chainrule, init)
    assert got[-1] >= 0.9 and losses[-1] >= 0.9  # the last entry is the training accuracy
