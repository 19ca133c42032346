"""`chainrule train --nproc N` and `mpiexec -n N chainrule train`: the same model as one process;
a rank killed mid-epoch ends the job quickly with a clear error, the checkpoint intact."""

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli import main
from chainrule.distributed import launch
from tests.distributed.mpi import check, environment, needs_mpi, run_job

pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")
pytest.importorskip("safetensors")

WINE = ["train", "--dataset", "wine", "--epochs", "3", "--seed", "0"]


def _history(out):
    return json.loads((pathlib.Path(out) / "history.json").read_text())["history"]["history"]


def _assert_same_run(out, reference):
    ours, theirs = cr.train.load(out / "model.safetensors"), cr.train.load(reference /
                                                                           "model.safetensors")
    assert sorted(ours) == sorted(theirs)
    for name in theirs:
        a, b = ours[name].numpy(), theirs[name].numpy()
        assert np.abs(a - b).max() <= 1e-4 * np.abs(b).max(), name
    h, ref = _history(out), _history(reference)
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(h[key], ref[key], atol=1e-4, rtol=0)


@pytest.fixture(scope="module")
def one_process(tmp_path_factory):
    """The 1-process run of WINE (in this process)."""
    out = tmp_path_factory.mktemp("one")
    assert main([*WINE, "--out", str(out)]) == 0
    return out


def _cli(*args):
    return [sys.executable, "-m", "chainrule.cli", *map(str, args)]


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory):
    """The `--nproc 2` run of WINE: (its output directory, the finished process)."""
    out = tmp_path_factory.mktemp("two")
    run = subprocess.run(_cli(*WINE, "--nproc", 2, "--out", out), capture_output=True,
                         text=True, timeout=180, env=environment())
    check(run)
    return out, run


@needs_mpi
def test_nproc_2_trains_the_same_model_and_only_rank_0_prints(one_process, two_processes):
    tmp_path, run = two_processes
    assert run.stdout.count("chainrule train: wine") == 1 and ", 2 processes" in run.stdout
    assert run.stdout.count("\nepoch ") == 3 and run.stdout.count("final: ") == 1
    assert {"model.safetensors", "history.json", "report.html",
            "checkpoint.safetensors"} <= set(os.listdir(tmp_path))
    _assert_same_run(tmp_path, one_process)


@needs_mpi
def test_mpiexec_runs_chainrule_train_directly_with_an_uneven_last_batch(one_process, tmp_path):
    # 142 training rows: the last batch of 14 splits 5, 5, 4
    check(run_job(3, ["-m", "chainrule.cli", *WINE, "--out", tmp_path], timeout=180,
                  launcher=False))
    _assert_same_run(tmp_path, one_process)


@needs_mpi
def test_a_distributed_checkpoint_resumes_exactly_and_in_one_process_too(one_process,
                                                                        two_processes, tmp_path):
    """--resume with the same --nproc continues bit for bit; in 1 process, up to summation
    order (the global batches are the same)."""
    (full, _), part, alone = two_processes, tmp_path / "part", tmp_path / "alone"
    check(subprocess.run(_cli(*WINE[:3], "--epochs", 2, "--seed", 0, "--nproc", 2, "--out",
                              part), capture_output=True, text=True, timeout=180,
                         env=environment()))
    ck = part / "checkpoint.safetensors"
    assert cr.train.load(ck)["epoch"] == 2
    check(subprocess.run(_cli("train", "--resume", ck, "--epochs", 3, "--nproc", 2, "--out",
                              part), capture_output=True, text=True, timeout=180,
                         env=environment()))
    a, b = cr.train.load(part / "model.safetensors"), cr.train.load(full / "model.safetensors")
    assert all(np.array_equal(a[k].numpy(), b[k].numpy()) for k in b)
    ours, theirs = _history(part), _history(full)
    assert {k: v for k, v in ours.items() if k != "time"} == \
        {k: v for k, v in theirs.items() if k != "time"}
    assert main(["train", "--resume", str(ck), "--epochs", "3", "--out", str(alone)]) == 0
    _assert_same_run(alone, one_process)


@needs_mpi
def test_nproc_must_match_the_mpi_job_it_runs_in(tmp_path):
    run = run_job(2, ["-m", "chainrule.cli", *WINE, "--nproc", 3, "--out", tmp_path],
                  timeout=120, launcher=False)
    assert run.returncode == 2
    assert "chainrule train: error: --nproc 3 inside an MPI job of 2 processes" in run.stderr
    assert not os.listdir(tmp_path)


def test_nproc_without_mpi_is_a_usage_error(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(launch, "mpi_available", lambda: False)
    assert main([*WINE, "--nproc", "2", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.strip() == ("chainrule train: error: --nproc needs MPI: pip install "
                           "'chainrule[mpi]' (mpi4py, mpich)")
    assert not (tmp_path / "out").exists()


def _children(pid):
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = pathlib.Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry))
    return out


def _rank_pid(launcher_pid, rank):
    """The pid of MPI rank `rank` below the launcher (mpiexec.gforker's child with PMI_RANK)."""
    for mpiexec in _children(launcher_pid):
        for pid in _children(mpiexec):
            try:
                env = pathlib.Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if f"PMI_RANK={rank}".encode() in env:
                return pid
    return None


@needs_mpi
@pytest.mark.skipif(not os.path.isdir("/proc"), reason="finds the ranks through /proc")
def test_a_rank_killed_mid_epoch_ends_the_job_within_30_s_naming_the_rank(tmp_path):
    ckpt = tmp_path / "checkpoint.safetensors"
    proc = subprocess.Popen(_cli("train", "--dataset", "spirals", "--batch-size", 4, "--epochs",
                                 2000, "--nproc", 2, "--out", tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=environment())
    try:
        deadline = time.monotonic() + 90
        while not ckpt.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert ckpt.exists(), "no checkpoint was written"
        time.sleep(0.3)  # into a later epoch
        victim = _rank_pid(proc.pid, 1)
        assert victim is not None and proc.poll() is None
        os.kill(victim, signal.SIGKILL)
        killed = time.monotonic()
        out, err = proc.communicate(timeout=60)
        seconds = time.monotonic() - killed
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode != 0
    assert seconds < 30
    lines = [line for line in err.splitlines() if "rank 1" in line]
    assert lines == [f"chainrule train: error: rank 1 (pid {victim}) of 2 died without exiting "
                     "(killed by a signal: SIGKILL, the out-of-memory killer, ...); stopped "
                     "the other ranks"], err[-2000:]
    assert _children(proc.pid) == []
    state = cr.train.load(ckpt)  # the last checkpoint is intact
    assert 1 <= state["epoch"] < 2000 and state["format"] == "chainrule.fit/1"
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
    assert "model.safetensors" not in os.listdir(tmp_path)  # the run did not finish
