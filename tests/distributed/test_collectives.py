"""Every collective with 2 and 3 processes (MPI jobs over shared memory), against its definition."""

import time

import numpy as np
import pytest

from tests.distributed.mpi import check, needs_mpi, results, run_job, worker

pytestmark = needs_mpi


@pytest.fixture(scope="module", params=[2, 3], ids=["2 processes", "3 processes"])
def job(request, tmp_path_factory):
    world = request.param
    out = tmp_path_factory.mktemp(f"collectives{world}")
    check(run_job(world, [worker("collectives.py"), out], timeout=90))
    return world, results(out, world)


def test_all_reduce_sum_avg_max_min_product(job):
    world, ranks = job
    v = np.array([[r + 1.0, -2.0 * (r + 1), 0.5 ** r] for r in range(world)])
    ints = np.array([[r, -r, 7] for r in range(world)])
    for got in ranks:
        np.testing.assert_allclose(got["sum_f32"], v.sum(0), rtol=1e-6)
        np.testing.assert_allclose(got["avg_f64"], v.mean(0), rtol=1e-12)
        assert got["max_i64"] == ints.max(0).tolist()
        assert got["min_i64"] == ints.min(0).tolist()
        np.testing.assert_allclose(got["product_f64"], v.prod(0), rtol=1e-12)


def test_all_reduce_of_a_strided_view_writes_the_view(job):
    world, ranks = job
    total = sum(r + 1 for r in range(world))
    expected = (np.arange(6.0).reshape(2, 3) * total).T
    for got in ranks:
        assert got["strided_is_contiguous"] is False
        assert got["strided_sum"] == expected.tolist()


def test_broadcast(job):
    world, ranks = job
    for got in ranks:
        assert got["broadcast_from_last"] == np.full((2, 2), world - 1.0).tolist()
        assert got["broadcast_bool"] == [True, True]


def test_all_gather_and_all_gather_into_tensor(job):
    world, ranks = job
    for got in ranks:
        assert got["all_gather"] == [np.full((2, 2), r * 10.0).tolist() for r in range(world)]
        expected = np.repeat(np.arange(world, dtype=np.float32), 2)[:, None] * np.ones(3)
        assert got["all_gather_into_tensor"] == expected.tolist()


def test_reduce_scatter(job):
    world, ranks = job
    for got in ranks:
        j = got["rank"]
        total = sum(r * 10.0 + j for r in range(world))
        assert got["reduce_scatter_sum"] == [total] * 3
        np.testing.assert_allclose(got["reduce_scatter_avg"], [total / world] * 3, rtol=1e-6)


def test_async_op_returns_work_and_wait_completes(job):
    world, ranks = job
    for got in ranks:
        assert got["async_work_type"] == "Work"
        assert got["async_sum"] == [sum(range(world)), float(world)]


def test_object_collectives(job):
    world, ranks = job
    for got in ranks:
        assert got["all_gather_object"] == [{"rank": r, "name": f"r{r}"} for r in range(world)]
        assert got["broadcast_object_list"] == ["from 1", 1]


def test_all_gather_rows_with_uneven_rows_and_a_rank_without_any(job):
    world, ranks = job
    expected = [[r, r] for r in range(1, world) for _ in range(r)]
    for got in ranks:
        assert got["all_gather_rows"] == expected


def test_barrier_waits_for_the_slowest_rank(job):
    world, ranks = job
    for got in ranks:
        assert got["barrier_seconds"] >= 0.25


def test_a_collective_that_a_rank_never_joins_times_out_and_the_job_fails(tmp_path):
    start = time.perf_counter()
    proc = run_job(2, [worker("timeout.py"), tmp_path], timeout=60)
    seconds = time.perf_counter() - start
    assert proc.returncode != 0, proc.stderr
    (record,) = results(tmp_path, 1)
    assert record["raised"].startswith("all_reduce: rank 0 of 2 waited 1 s for the other "
                                       "processes")
    assert 0.9 < record["seconds"] < 5
    assert seconds < 30
