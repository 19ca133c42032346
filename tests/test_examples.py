"""Every script in examples/ runs to completion (small sizes via CHAINRULE_QUICK=1)."""

import os
import pathlib
import subprocess
import sys

import pytest

EXAMPLES = sorted(pathlib.Path(__file__).resolve().parent.parent.joinpath("examples").glob("*.py"))


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(script, tmp_path):
    env = dict(os.environ, CHAINRULE_QUICK="1", MPLBACKEND="Agg")
    out = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, f"{script.name} failed:\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}"
    assert out.stdout.strip(), f"{script.name} printed nothing"


def test_seed_002_example_prints_the_seed_numbers(tmp_path):
    script = next(p for p in EXAMPLES if p.name == "01_chain_rule.py")
    out = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                         text=True, check=True).stdout
    for text in ["L = z*w2 + b2 = 3.5", "E = (L - 5)^2 / 2 = 1.125", "dL/dw1 = 3,  dL/dw2 = 2",
                 "w1 = 1.1, w2 = 1.9, L = 6.58", "w1 = 0.8, w2 = 1.7, L = 4.92"]:
        assert text in out
