"""Every script in examples/ runs to completion (small sizes via CHAINRULE_QUICK=1), writes only
under the current directory's runs/examples/, and prints the numbers it claims."""

import os
import pathlib
import re
import subprocess
import sys
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXAMPLES = sorted(ROOT.joinpath("examples").glob("*.py"))
_RUNS = {}


def _run(script, tmp_path_factory, quick=True):
    """stdout of one run of the script in a fresh directory (each run once per session)."""
    key = (script.name, quick)
    if key not in _RUNS:
        cwd = tmp_path_factory.mktemp(script.stem)
        env = dict(os.environ, MPLBACKEND="Agg")
        env.pop("CHAINRULE_QUICK", None)
        if quick:
            env["CHAINRULE_QUICK"] = "1"
        out = subprocess.run([sys.executable, str(script)], cwd=cwd, env=env,
                             capture_output=True, text=True, timeout=300)
        _RUNS[key] = (out, cwd)
    return _RUNS[key]


def _script(name):
    return next(p for p in EXAMPLES if p.name == name)


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(script, tmp_path_factory):
    start = time.time()
    out, cwd = _run(script, tmp_path_factory)
    assert out.returncode == 0, f"{script.name} failed:\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}"
    assert out.stdout.strip(), f"{script.name} printed nothing"
    written = [p.relative_to(cwd) for p in cwd.rglob("*") if p.is_file()]
    assert all(p.parts[:2] == ("runs", "examples") for p in written), written
    repo_runs = ROOT / "runs"
    if repo_runs.exists():  # nothing lands in the repository's own runs/
        assert not [p for p in repo_runs.rglob("*") if p.is_file()
                    and p.stat().st_mtime >= start - 1]


def test_seed_002_example_prints_the_seed_numbers(tmp_path_factory):
    out = _run(_script("01_chain_rule.py"), tmp_path_factory, quick=False)[0].stdout
    for text in ["L = z*w2 + b2 = 3.5", "E = (L - 5)^2 / 2 = 1.125", "dL/dw1 = 3,  dL/dw2 = 2",
                 "w1 = 1.1, w2 = 1.9, L = 6.58", "w1 = 0.8, w2 = 1.7, L = 4.92",
                 # descent on E: dE/dw1 = (L - 5) dL/dw1 = -1.5 * 3
                 "dE/dw1 = -1.5 * 3 = -4.5", "dE/dw2 = -1.5 * 2 = -3",
                 "step a = 0.2: w1 = 1.4, w2 = 2.1, L = 8.48, E = 1.125 -> 6.06 (it overshoots",
                 "step a = 0.1: w1 = 0.95, w2 = 1.8, L = 5.72, E = 1.125 -> 0.259 (E fell)"]:
        assert text in out, text


def test_backprop_example_explains_descent_on_the_error(tmp_path_factory):
    out = _run(_script("02_backprop_explained.py"), tmp_path_factory)[0].stdout
    assert "dE/dw1 = -1.5 × 1.5 × 2.0 = -4.5" in out
    assert "Gradient descent step, lr = 0.2: w <- w - lr · dE/dw" in out
    assert "E: 1.125 -> 6.0552" in out and "E: 1.125 -> 0.2592" in out
    assert "Gradient ascent step, lr = 0.2: w <- w + lr · dL/dw" in out


def test_vanishing_example_bound_holds(tmp_path_factory):
    out = _run(_script("11_vanishing_gradients.py"), tmp_path_factory)[0].stdout
    m = re.search(r"prod_l \|\|W_l\|\|_2 / 4\^19 = (\S+); measured: at most (\S+) ", out)
    assert m, out
    bound, measured = float(m.group(1)), float(m.group(2))
    assert measured <= bound and "at most ||W||_2" not in out


def test_landscape_example_runs_lr_2_and_reports_what_happened(tmp_path_factory):
    out, cwd = _run(_script("12_loss_landscape.py"), tmp_path_factory)
    line = next(s for s in out.stdout.splitlines() if s.startswith("GD with lr = 2.0"))
    lam, bound = map(float, re.search(r"lambda_max = (\S+) vs 2/lr = (\S+),", line).groups())
    assert ("says unstable" in line) == (lam > bound)
    m = re.search(r"the loss goes (\S+) -> (\S+) \(step \d+\) -> (\S+) \(step", line)
    if "catapults" in line:  # the claim follows from the printed numbers
        start, peak, end = map(float, m.groups())
        assert peak > 10 * start and end < 0.1 * peak
        first, last = map(float, re.search(r"lambda_max goes from (\S+) to (\S+),",
                                           line).groups())
        assert ("below 2/lr" in line) == (last < bound)
    else:
        assert "diverges" in line or "stays stable" in line
    assert (cwd / "runs" / "examples" / "12_catapult.png").stat().st_size > 10_000
