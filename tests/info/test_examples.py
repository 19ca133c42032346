"""examples/09 and 10 run end to end (CHAINRULE_QUICK=1) and check their own claims."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["09_information_theory.py", "10_kl_direction.py"])
def test_example_runs(name):
    pytest.importorskip("matplotlib")
    env = dict(os.environ, CHAINRULE_QUICK="1", MPLBACKEND="Agg")
    done = subprocess.run([sys.executable, str(ROOT / "examples" / name)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "plot:" in done.stdout
    if name.startswith("09"):
        for text in ("H = 1.0000 bits", "0.0808", "-log(0.99) = 0.01", "-log(0.50) = 0.69",
                     "-log(0.01) = 4.61", "0.24 / 0.31 = 0.774", "E[X] = (1 + 2 + 3 + 4 + 5 + "
                     "6) / 6 = 3.5"):
            assert text in done.stdout
    else:
        assert "covers both modes" in done.stdout and "KL(P || Q) closed form         = inf" \
            in done.stdout
