"""Where the [mpi] extra is installed (CI installs it: the README's test command takes [test],
which includes [mpi]), the multi-process tests must run: a broken install fails here instead of
turning every MPI test into a quiet skip."""

import importlib.metadata

import pytest

from chainrule.distributed import launch
from tests.distributed.mpi import needs_mpi


def _installed(name):
    try:
        importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def test_the_mpi_tests_run_where_the_mpi_extra_is_installed():
    missing = [name for name in ("mpi4py", "mpich") if not _installed(name)]
    if missing:
        pytest.skip(f"the [mpi] extra is not installed (no {', '.join(missing)})")
    try:
        launch.find_mpiexec()
        import mpi4py  # noqa: F401
    except Exception as e:  # what mpi_available would swallow into a skip
        pytest.fail(f"mpi4py and mpich are installed, but the MPI tests would skip: {e}")
    assert launch.mpi_available()
    assert not needs_mpi.args[0], needs_mpi.kwargs["reason"]  # the marker does not skip
