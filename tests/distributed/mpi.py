"""Helpers of the multi-process tests: start an MPI job on this machine (shared memory only)."""

import json
import os
import pathlib
import subprocess
import sys

import pytest

from chainrule.distributed import launch

ROOT = pathlib.Path(__file__).resolve().parents[2]
WORKERS = pathlib.Path(__file__).resolve().parent / "workers"

needs_mpi = pytest.mark.skipif(not launch.mpi_available(),
                               reason="needs mpi4py and mpich: pip install 'chainrule[mpi]'")


def environment():
    """os.environ with this tree's sources first on the path, one BLAS thread per rank."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "src"), str(ROOT),
                                                    env.get("PYTHONPATH")) if p)
    for var in launch.THREAD_VARS:
        env[var] = "1"
    return env


def run_job(nproc, args, timeout=120, launcher=True, cwd=None):
    """Run `python *args` as nproc ranks: through chainrule's launcher, or mpiexec.gforker."""
    env = environment()
    if launcher:
        command = [sys.executable, "-m", "chainrule.distributed.launch", "--nproc", str(nproc)]
    else:  # the plain launcher, as a user would type it
        command = [launch.find_mpiexec(), "-n", str(nproc), sys.executable]
        env.update(UCX_TLS="self,sm", UCX_NET_DEVICES="lo")
    return subprocess.run([*command, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=cwd)


def worker(name):
    """The path of a worker script in tests/distributed/workers."""
    return WORKERS / name


def results(directory, nproc):
    """The JSON record each rank wrote to directory/rank-<r>.json, by rank."""
    out = []
    for r in range(nproc):
        path = pathlib.Path(directory) / f"rank-{r}.json"
        assert path.exists(), f"rank {r} wrote no results ({path})"
        out.append(json.loads(path.read_text()))
    return out


def check(job):
    """Fail with the job's output when it did not exit 0."""
    assert job.returncode == 0, f"exit {job.returncode}\n{job.stdout[-3000:]}\n{job.stderr[-3000:]}"
