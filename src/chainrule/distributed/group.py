"""The process group: every process of an MPI job, its rank and size, and waits with a deadline.

A process started by an MPI launcher (mpiexec, mpiexec.gforker, srun, ...) joins the job's
MPI_COMM_WORLD; any other process is a world of one, without MPI (mpi4py is not imported), so
the same script runs unchanged as `python train.py` and as `mpiexec -n 4 python train.py`.

Every collective is started non-blocking and waited for with a deadline (`timeout`): when a
process dies or stops calling collectives, the others raise DistributedError instead of
waiting forever, and exit through MPI_Abort so the launcher ends the whole job.
"""

import atexit
import datetime
import os
import sys
import time

DEFAULT_TIMEOUT = datetime.timedelta(minutes=5)
LAUNCH_DIR_VAR = "CHAINRULE_LAUNCH_DIR"  # set by chainrule.distributed.launch for its ranks
# variables that MPI launchers set in the processes they start
_LAUNCHER_VARS = ("PMI_SIZE", "PMI_RANK", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK")


class DistributedError(RuntimeError):
    """A collective failed: another process died, hangs, or called a different collective."""


class _World:
    """The default process group: an MPI communicator (None in a world of one process)."""

    __slots__ = ("comm", "rank", "size", "timeout", "broken")

    def __init__(self, comm, rank, size, timeout):
        self.comm, self.rank, self.size, self.timeout = comm, rank, size, timeout
        self.broken = False


_world = None


def launched_by_mpi():
    """Whether an MPI launcher started this process (its environment says so)."""
    return any(v in os.environ for v in _LAUNCHER_VARS)


def _seconds(timeout):
    if timeout is None:
        return DEFAULT_TIMEOUT.total_seconds()
    seconds = timeout.total_seconds() if isinstance(timeout, datetime.timedelta) else timeout
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds > 0:
        raise ValueError(f"init_process_group: timeout must be a positive number of seconds or "
                         f"a datetime.timedelta; got {timeout!r}")
    return float(seconds)


def _mpi():
    try:
        from mpi4py import MPI
    except ImportError:
        raise ImportError("cr.distributed: this process was started by an MPI launcher, but "
                          "mpi4py is not installed; pip install 'chainrule[mpi]' (mpi4py, "
                          "mpich)") from None
    return MPI


def init_process_group(backend="mpi", timeout=None, world_size=-1, rank=-1):
    """Join the job's processes (MPI_COMM_WORLD), or make a world of one outside MPI.

    timeout (seconds or a timedelta, default 5 minutes) bounds every wait in a collective.
    world_size and rank, when given, must match what the MPI launcher assigned.

        >>> import chainrule.distributed as dist
        >>> dist.init_process_group("mpi")        # a plain `python` process: a world of one
        >>> dist.get_rank(), dist.get_world_size()
        (0, 1)
        >>> dist.destroy_process_group()
    """
    global _world
    if _world is not None:
        raise RuntimeError("init_process_group: the default process group is already "
                           "initialized; call destroy_process_group() first")
    if backend != "mpi":
        raise ValueError(f"init_process_group: backend must be 'mpi' (chainrule's only "
                         f"backend); got {backend!r}")
    seconds = _seconds(timeout)
    if launched_by_mpi():
        MPI = _mpi()
        comm = MPI.COMM_WORLD.Dup()  # our own context: user messages on WORLD cannot mix in
        world = _World(comm, comm.Get_rank(), comm.Get_size(), seconds)
    else:
        world = _World(None, 0, 1, seconds)
    for name, asked, actual in (("world_size", world_size, world.size),
                                ("rank", rank, world.rank)):
        if asked not in (-1, None) and asked != actual:
            if world.comm is not None:
                world.comm.Free()
            raise ValueError(f"init_process_group: {name}={asked} was asked for, but the MPI "
                             f"launcher made this process {name} {actual}")
    _world = world
    _register_with_launcher(world)


def destroy_process_group():
    """Leave the process group (its communicator is freed); init_process_group may run again."""
    global _world
    world, _world = _world, None
    if world is not None and world.comm is not None and not world.broken:
        world.comm.Free()


def is_initialized():
    """Whether init_process_group has run (and destroy_process_group has not)."""
    return _world is not None


def _get_world(what):
    if _world is None:
        raise RuntimeError(f"{what}: the default process group is not initialized; call "
                           "cr.distributed.init_process_group() first")
    return _world


def get_rank():
    """This process's rank: 0 .. world_size - 1."""
    return _get_world("get_rank").rank


def get_world_size():
    """The number of processes in the job."""
    return _get_world("get_world_size").size


def wait(request, what):
    """Wait for an MPI request, polling, up to the group's timeout (DistributedError after)."""
    world = _world
    if request.Test():
        return
    deadline = time.monotonic() + world.timeout
    pause, polls = 0.0, 0
    try:
        while not request.Test():
            polls += 1
            if polls > 2000:  # a long wait: back off from spinning, up to 1 ms between polls
                pause = min(1e-3, pause + 2e-5)
                time.sleep(pause)
            if time.monotonic() > deadline:
                raise DistributedError(
                    f"{what}: rank {world.rank} of {world.size} waited {world.timeout:g} s "
                    "for the other processes; one of them died, hangs, or called a different "
                    "collective (the timeout is init_process_group's timeout=)")
    except BaseException:
        # a collective left half-done (timeout, Ctrl-C): the job cannot go on, and
        # MPI_Finalize would wait for it; the exit aborts the job instead
        world.broken = True
        raise


def barrier():
    """Wait until every process has reached this call."""
    world = _get_world("barrier")
    if world.comm is not None:
        wait(world.comm.Ibarrier(), "barrier")


def _register_with_launcher(world):
    """Tell chainrule's launcher this rank's pid, and (at a normal exit) that it exited."""
    directory = os.environ.get(LAUNCH_DIR_VAR)
    if world.comm is None and directory is None:
        return
    if directory is not None:
        _write(os.path.join(directory, f"rank-{world.rank}.pid"), str(os.getpid()))
    atexit.register(_on_exit, world, directory)


def _write(path, text):
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def _on_exit(world, directory):
    if directory is not None and os.path.isdir(directory):
        _write(os.path.join(directory, f"rank-{world.rank}.exit"), "exited")
    if world.broken and world.comm is not None:
        # MPI_Finalize would wait for the missing processes: end the whole job instead
        sys.stdout.flush()
        sys.stderr.flush()
        world.comm.Abort(1)
