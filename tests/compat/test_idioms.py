"""Every idiom in tests/compat/idioms.py runs unchanged on chainrule (`import chainrule as
torch`) and gives PyTorch's values, gradients, shapes and dtypes: against torch itself when it
is installed, and against the committed golden file (tests/golden/compat.npz, written by
tools/golden/compat.py with torch 2.13) always."""

import pytest

import chainrule
from tests import golden
from tests.compat.idioms import IDIOMS
from tests.compat.values import compare, flatten

GOLDEN = golden.load("compat")


def _golden(name):
    prefix = f"idiom:{name}"
    return {k[len(prefix):]: v for k, v in GOLDEN.items() if k.startswith(prefix + "/")
            or k.startswith(prefix + "#") or k == prefix}


def test_there_are_at_least_a_hundred_idioms_and_each_has_a_golden_result():
    assert len(IDIOMS) >= 100
    missing = [n for n in IDIOMS if not _golden(n)]
    assert not missing, f"no golden result for {missing}: run python tools/golden/compat.py"


@pytest.mark.parametrize("name", sorted(IDIOMS))
def test_idiom_matches_pytorch_golden(name):
    compare(flatten(IDIOMS[name](chainrule)), _golden(name), f"{name}")


@pytest.mark.parametrize("name", sorted(IDIOMS))
def test_idiom_matches_pytorch_live(name):
    torch = pytest.importorskip("torch")
    compare(flatten(IDIOMS[name](chainrule)), flatten(IDIOMS[name](torch)), f"{name}")


def test_golden_file_has_no_stale_idioms():
    names = {k.split("/")[0].split("#")[0][len("idiom:"):] for k in GOLDEN if
             k.startswith("idiom:")}
    assert names <= set(IDIOMS), f"golden results for removed idioms: {names - set(IDIOMS)}"


