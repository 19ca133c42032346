"""fit(distributed=...): global batches sliced across processes follow the 1-process run.

The MPI jobs run the worker under plain mpiexec.gforker (as `mpiexec -n N python script.py`);
the reference is the same worker's 1-process run in this process, without cr.distributed.
"""

import numpy as np
import pytest

import chainrule as cr
import chainrule.distributed as dist
import chainrule.nn.functional as F
from chainrule.train.parallel import rows_of
from tests.distributed.mpi import check, needs_mpi, results, run_job, worker
from tests.distributed.workers import fit as fit_worker


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return fit_worker.run(str(tmp_path_factory.mktemp("reference")), distributed=False)


def test_slices_are_contiguous_cover_the_batch_and_differ_by_at_most_one_row():
    for n in (0, 1, 2, 5, 31, 32):
        for world in (1, 2, 3, 4):
            bounds = [rows_of(n, r, world) for r in range(world)]
            assert bounds[0][0] == 0 and bounds[-1][1] == n
            assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
            sizes = [hi - lo for lo, hi in bounds]
            assert max(sizes) - min(sizes) <= 1 and sizes == sorted(sizes, reverse=True)


def test_distributed_fit_in_a_world_of_one_is_the_plain_fit_exactly(reference, tmp_path):
    dist.init_process_group()
    try:
        got = fit_worker.run(str(tmp_path), distributed=True)
    finally:
        dist.destroy_process_group()
    assert got["history"] == reference["history"]
    assert got["digest"] == reference["digest"]


def test_a_distributed_sampler_loader_keeps_per_process_batches(world_of_one):
    X, y = cr.data.make_moons(64, seed=0)
    sampler = cr.data.DistributedSampler(range(64), shuffle=True, seed=0)
    loader = cr.data.DataLoader((X, y), batch_size=16, sampler=sampler)
    cr.manual_seed(0)
    model = cr.nn.Sequential(cr.nn.Linear(2, 8), cr.nn.Tanh(), cr.nn.Linear(8, 2))
    opt = cr.optim.SGD(model.parameters(), lr=0.1)
    history = cr.train.fit(model, F.cross_entropy, opt, loader, epochs=3, progress=False,
                           distributed=True)
    assert sampler.epoch == 3  # fit called set_epoch before each epoch
    assert len(history) == 3 and history["loss"][-1] < history["loss"][0]


def test_distributed_must_be_a_bool_or_none():
    with pytest.raises(TypeError, match="fit: distributed must be None, True or False; "
                                        "got 'yes'"):
        fit_worker.train(1, False, "yes")


@needs_mpi
@pytest.mark.parametrize("nproc, flags", [(2, []), (3, ["--eager"])],
                         ids=["2 processes, compiled", "3 processes, eager, empty slice"])
def test_a_fit_script_under_mpiexec_follows_the_one_process_run(reference, tmp_path, nproc,
                                                                flags):
    check(run_job(nproc, [worker("fit.py"), tmp_path, *flags], timeout=120, launcher=False))
    ranks = results(tmp_path, nproc)
    # every process holds the same model, bit for bit
    assert {r["digest"] for r in ranks} == {ranks[0]["digest"]}
    got = ranks[0]
    for key, values in reference["history"].items():
        np.testing.assert_allclose(got["history"][key], values, atol=1e-4, rtol=0)
    for name, value in reference["params"].items():
        value = np.asarray(value)
        error = np.abs(np.asarray(got["params"][name]) - value).max() / np.abs(value).max()
        assert error < 1e-4, name
    # only rank 0 wrote checkpoints (3 epochs + 2 epochs), and resuming continued exactly
    assert [r["saves"] for r in ranks] == [5] + [0] * (nproc - 1)
    for r in ranks:
        assert r["resume_error"] == 0 and r["resume_history_equal"]
