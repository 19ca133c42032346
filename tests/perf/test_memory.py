"""Memory, not time: a long run of eager or compiled steps does not grow its resident set
(bench/memory.py measures the 10,000-step W1 run the acceptance names; this is a shorter W2
run of the same code, in a fresh process)."""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="reads /proc (Linux)")
@pytest.mark.parametrize("peer", ["chainrule", "compiled"])
def test_rss_does_not_grow_over_thousands_of_steps(peer):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, os.path.join(ROOT, "src"),
                                                    env.get("PYTHONPATH")) if p)
    out = subprocess.run([sys.executable, "-m", "bench.memory", "--growth-only", peer,
                          "--workload", "W2", "--steps", "3000"], capture_output=True,
                         text=True, env=env, cwd=ROOT, check=True)
    rss = json.loads(out.stdout.splitlines()[-1])
    assert rss["after"] - rss["before"] < 1.0, rss  # MiB; a leak of 350 bytes a step fails
