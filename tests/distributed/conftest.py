import pytest

import chainrule.distributed as dist


@pytest.fixture
def world_of_one():
    """A process group of this process alone (pytest is not started by an MPI launcher)."""
    assert not dist.launched_by_mpi()
    dist.init_process_group("mpi")
    yield
    dist.destroy_process_group()


@pytest.fixture(autouse=True)
def no_group_left_behind():
    yield
    if dist.is_initialized():
        dist.destroy_process_group()
        pytest.fail("a test left the process group initialized")
