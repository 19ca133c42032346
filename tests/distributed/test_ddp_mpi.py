"""DistributedDataParallel across 2 and 3 processes: initial broadcast, weighted averaging in
buckets started during backward, no_sync, batch norm's statistics."""

import numpy as np
import pytest

from tests.distributed.mpi import check, needs_mpi, results, run_job, worker

pytestmark = needs_mpi


@pytest.fixture(scope="module", params=[2, 3], ids=["2 processes", "3 processes"])
def job(request, tmp_path_factory):
    world = request.param
    out = tmp_path_factory.mktemp(f"ddp{world}")
    check(run_job(world, [worker("ddp.py"), out], timeout=90))
    return world, results(out, world)


def test_every_rank_starts_from_rank_0s_parameters(job):
    world, ranks = job
    assert len({r["own_init"] for r in ranks}) == world  # they did start different
    assert {r["synced_init"] for r in ranks} == {ranks[0]["own_init"]}


def test_weighted_uneven_slices_give_the_full_batch_gradient(job):
    world, ranks = job
    for got in ranks:
        assert got["grad_error"] < 1e-6 * got["grad_scale"]


def test_buckets_are_launched_during_backward_before_the_last_gradient(job):
    world, ranks = job
    for got in ranks:
        buckets, arrived = got["buckets"], got["arrived_at_launch"]
        assert len(buckets) >= 3 and buckets[0][0] == got["deliveries"] - 1  # reverse order
        assert len(arrived) == len(buckets)
        # the first buckets went out while the first layer's gradients were still to come
        assert arrived[0] <= got["deliveries"] - 2
        assert arrived == sorted(arrived) and arrived[-1] == got["deliveries"]


def test_from_the_second_step_buckets_follow_the_arrival_order_of_gradients(job):
    world, ranks = job
    for got in ranks:
        # the engine delivers W then b per layer, last layer first: W3 b3 | W2 | b2 W1 b1
        assert got["rebuilt_buckets"] == [[4, 5], [2], [3, 0, 1]]
        assert got["rebuilt_arrived_at_launch"] == [2, 3, 6]
        assert got["rebuilt_grad_error"] < 1e-6 * got["grad_scale"]


def test_no_sync_accumulates_locally_then_reduces_the_sum(job):
    world, ranks = job
    assert len({r["no_sync_local_first_grad"] for r in ranks}) == world  # local inside
    for got in ranks:
        assert got["no_sync_error"] < 1e-6


def test_batch_norm_statistics_are_per_process_and_broadcast_from_rank_0(job):
    world, ranks = job
    own = [r["running_mean_after_own_batch"] for r in ranks]
    assert all(not np.allclose(own[0], o) for o in own[1:])
    for got in ranks:
        np.testing.assert_array_equal(got["running_mean_seen_by_second_forward"], own[0])
